"""The subcommands of the ``cnnlab`` command (``cnnlab.cli``), one module each."""


def config_of(paths: list) -> dict:
    """The whole config of ``--configfile`` ``paths`` (``plan.defaults.config_from_files``),
    a file that cannot be read named in one line."""
    import yaml

    from cnnlab.cli import CommandError
    from cnnlab.plan.defaults import config_from_files

    try:
        return config_from_files(paths)
    except OSError as e:
        raise CommandError(f"--configfile: {e.filename}: {e.strerror}") from None
    except yaml.YAMLError as e:
        raise CommandError(f"--configfile: not YAML: {e}") from None
