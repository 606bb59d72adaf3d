"""Rule prepare_folder: adapter to cnnlab.data.image_folder (a folder of the user's images
into the prepared .npz), with its progress bar in the job's log."""
import json

from cnnlab.data.image_folder import list_folder, read_folder
from cnnlab.data.prepared import save_prepared
from cnnlab.data.sources import file_digest
from cnnlab.logs import log_to
from cnnlab.plan.config import folder_info, image_size

with log_to(snakemake.log[0]) as log:
    # The folder and its split from the config (not parameters: moving the folder changes
    # nothing the job computes; its content is the trigger, checked against the digest).
    name = snakemake.wildcards.dataset
    settings = {**snakemake.config["datasets"][name], **snakemake.params.shape}
    listing = list_folder(settings["folder"], settings.get("test_fraction"),
                          settings.get("split_seed", 0), f"datasets.{name}")
    size = image_size(settings["image_size"])
    parts = read_folder(listing, size, settings["channels"], progress=log,
                        workers=snakemake.threads)
    save_prepared(parts, name, snakemake.output.data, folder_info(name, settings, listing))
    provenance = {
        "dataset": name, "source": f"image folder {settings['folder']}",
        "source_sha256": {f"{len(listing.train) + len(listing.test)} images (names and "
                          f"checksums)": listing.digest},
        "prepared_sha256": file_digest(snakemake.output.data, "sha256"),
        "train": len(listing.train), "test": len(listing.test),
        "classes": list(listing.classes)}
    print(json.dumps(provenance, indent=2))
    with open(snakemake.output.provenance, "w") as f:
        json.dump(provenance, f, indent=2)
