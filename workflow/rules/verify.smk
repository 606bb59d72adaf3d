# The custom autograd layers verified against the same math from built-in operations:
# gradcheck, largest forward/backward differences, speed ratio (cnnlab.verification).
# Local: a few seconds of CPU work, no GPU needed.
localrules:
    verify_layers,


rule verify_layers:
    """Check each custom layer's hand-written backward against autograd (report table)."""
    input:
        code=lib("layers", "verification"),
    output:
        "results/verification/custom_layers.csv",
    threads: 1
    log:
        "results/logs/verify_layers.log",
    script:
        "../../scripts/verify_layers.py"
