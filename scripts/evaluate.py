"""Rule evaluate: adapter to cnnlab.evaluation.evaluate_checkpoint."""
from cnnlab.datasets import load_prepared
from cnnlab.evaluation import evaluate_checkpoint
from cnnlab.logs import log_to

with log_to(snakemake.log[0]):
    confusion, per_class = evaluate_checkpoint(snakemake.input.model,
                                               load_prepared(snakemake.input.data),
                                               threads=snakemake.threads)
    confusion.to_csv(snakemake.output.confusion)
    per_class.to_csv(snakemake.output.per_class, index=False)
    print(per_class.to_string(index=False))
