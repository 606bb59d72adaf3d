# Each dataset is prepared once into results/data/<dataset>.npz (uint8 images, int64
# labels, class names, no pickles). Local rules: cluster compute nodes are often offline.
localrules:
    prepare_data,
    prepare_synthetic_data,
    prepare_folder,


rule prepare_data:
    """Prepare a real dataset once (download or offline mirror, checked) into a .npz."""
    output:
        data=f"results/data/{{dataset,{BUILTIN_PATTERN}}}.npz",
        provenance=f"results/data/{{dataset,{BUILTIN_PATTERN}}}.json",
    log:
        "results/logs/data/{dataset}.log",
    # Neither the mirror's path nor the source (mirror or download) is a parameter: both
    # give the same files, checked against the official checksums (constants of the code
    # digested here), so moving the mirror or going online retrains nothing. The job
    # reads where the files are from the config (cnnlab.data.mirror).
    params:
        code=library_code("prepare_data.py"),
        synthetic=False,
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
        code=library_code("prepare_data.py"),
        synthetic=True,
        download_root="",
    script:
        "../../scripts/prepare_data.py"


rule prepare_folder:
    """Prepare a folder of the user's own images once (resized, uint8) into a .npz."""
    output:
        data=f"results/data/{{dataset,{FOLDER_PATTERN}}}.npz",
        provenance=f"results/data/{{dataset,{FOLDER_PATTERN}}}.json",
    log:
        "results/logs/data/{dataset}.log",
    threads: 2
    # What the folder holds (names, sizes, content checksums and the split:
    # FOLDERS[...].digest) and the image shape are the trigger: an image added, removed or
    # changed re-prepares it; moving the folder or editing its report-only settings
    # (varied_objects) does not. The job reads where the folder is from the config.
    params:
        code=library_code("prepare_folder.py"),
        folder=lambda w: FOLDERS[w.dataset].digest,
        shape=lambda w: cnnlab_config.folder_shape(config["datasets"][w.dataset]),
    script:
        "../../scripts/prepare_folder.py"
