"""A build's runs exported to MLflow (``mlflow_store``) and TensorBoard
(``tensorboard_logs``) for browsing; both need the optional extra
``pip install 'cnnlab[tracking]'``. The build's files stay the record: an export is derived
from them and can be rewritten at any time."""
