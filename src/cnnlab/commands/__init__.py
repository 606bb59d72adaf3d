"""The subcommands of the ``cnnlab`` command (``cnnlab.cli``), one module each."""
