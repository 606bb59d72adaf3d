# The custom autograd layers verified against the same math from built-in operations:
# gradcheck, largest forward/backward differences, speed ratio (cnnlab.models.verification).
# Local: a few seconds of CPU work, no GPU needed.
localrules:
    verify_layers,


rule verify_layers:
    """Check each custom layer's hand-written backward against autograd (report table)."""
    output:
        "results/verification/custom_layers.csv",
    log:
        "results/logs/verify_layers.log",
    threads: 1
    params:
        code=library_code("verify_layers.py"),
    script:
        "../../scripts/verify_layers.py"
