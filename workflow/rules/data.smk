# Each dataset is prepared once into results/data/<dataset>.npz (uint8 images, int64
# labels, class names, no pickles). Local rules: cluster compute nodes are often offline.
localrules:
    prepare_data,
    prepare_synthetic_data,


rule prepare_data:
    """Prepare a real dataset once (download or offline mirror, checked) into a .npz."""
    output:
        data="results/data/{dataset}.npz",
        provenance="results/data/{dataset}.json",
    log:
        "results/logs/data/{dataset}.log",
    params:
        source=DATA_SOURCE,
        code=library_code("prepare_data.py"),
        mirror=DATA_MIRROR,
        download_root="results/data/download",
    script:
        "../../scripts/prepare_data.py"


rule prepare_synthetic_data:
    """Learnable synthetic images in a real dataset's shapes (smoke scale, tests)."""
    output:
        data="results/data/synthetic/{dataset}.npz",
        provenance="results/data/synthetic/{dataset}.json",
    log:
        "results/logs/data/synthetic-{dataset}.log",
    params:
        source="synthetic",
        code=library_code("prepare_data.py"),
        mirror="",
        download_root="",
    script:
        "../../scripts/prepare_data.py"
