import inspect
import subprocess
import sys

import pytest
import torch

from cnnlab.models import registry
from cnnlab.models.arguments import DATA_ARGS, registered_model_arguments
from conftest import REPO
from cnnlab.models.blocks import BasicBlock


@pytest.mark.parametrize("name", sorted(registry.MODELS))
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32)])
def test_every_model_builds_and_classifies(name, shape):
    model = registry.build_model(name, shape, 10)
    out = model(torch.randn(4, *shape))
    assert out.shape == (4, 10)
    out.sum().backward()  # every parameter takes part in the forward pass
    assert all(p.grad is not None for p in model.parameters())


def test_model_arguments_change_the_model():
    small = registry.build_model("mlp", (1, 28, 28), 10, hidden=[64])
    big = registry.build_model("mlp", (1, 28, 28), 10, hidden=[512, 256])
    assert registry.count_parameters(small) == 784 * 64 + 64 + 64 * 10 + 10
    assert registry.count_parameters(big) > registry.count_parameters(small)
    assert len([m for m in big if isinstance(m, torch.nn.Linear)]) == 3


def test_arguments_read_from_the_source_equal_the_builders_signatures():
    assert set(registered_model_arguments()) == set(registry.MODELS)
    for name, fn in registry.MODELS.items():
        params = [p for p in inspect.signature(fn).parameters if p not in DATA_ARGS]
        assert registered_model_arguments()[name] == tuple(params), name


def test_checking_a_config_does_not_import_torch():
    """Every Snakemake start checks the config; importing PyTorch there would double the
    time of a no-op rerun."""
    code = ("import sys; from cnnlab.plan.config import check_config; "
            "from cnnlab.plan.defaults import whole_config; check_config(whole_config()); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_model_and_argument_are_named():
    from cnnlab.models.arguments import check_model_args

    with pytest.raises(ValueError, match="unknown model 'vgg'"):
        check_model_args("vgg", {})
    with pytest.raises(ValueError, match="model 'mlp' has no argument 'hiden'.*hidden"):
        check_model_args("mlp", {"hiden": [3]})
    # Arguments the workflow supplies from the dataset are not config's to set.
    with pytest.raises(ValueError, match="no argument 'num_classes'"):
        check_model_args("mlp", {"num_classes": 3})
    # The builder itself refuses them too (a run's spec that skipped the config check).
    with pytest.raises(ValueError, match="model 'mlp' has no argument 'hiden'"):
        registry.build_model("mlp", (1, 28, 28), 10, hiden=[3])
    with pytest.raises(ValueError, match="unknown model 'vgg'"):
        registry.build_model("vgg", (1, 28, 28), 10)


def test_registering_a_name_twice_is_refused():
    def mlp(in_shape, num_classes):
        raise AssertionError("never built")

    with pytest.raises(ValueError, match="registered twice"):
        registry.register_model(mlp)


def test_basic_block_shapes_and_shortcut():
    same = BasicBlock(16, 16)
    assert isinstance(same.shortcut, torch.nn.Identity)
    down = BasicBlock(16, 32, stride=2)
    assert down(torch.randn(2, 16, 8, 8)).shape == (2, 32, 4, 4)


def test_residual_block_is_identity_plus_branch():
    block = BasicBlock(8, 8).eval()
    torch.nn.init.zeros_(block.bn2.weight)  # branch output becomes zero...
    torch.nn.init.zeros_(block.bn2.bias)
    x = torch.randn(2, 8, 5, 5).abs()
    torch.testing.assert_close(block(x), x)  # ...so the block passes x through (ReLU of x>=0)


@pytest.mark.parametrize("norm", [False, True])
def test_zero_init_residual_starts_every_unit_as_the_identity(norm):
    """Each unit's branch starts at zero, so at initialization the residual network is its
    shortcuts alone: a unit without a downsampling shortcut passes its input through, and
    the last convolution still gets a gradient (the branch can start to learn)."""
    torch.manual_seed(0)
    net = registry.build_model("deep_cnn", (3, 16, 16), 10, depth=8, widths=[8, 8, 8],
                             norm=norm, residual=True, zero_init_residual=True).eval()
    units = [m for m in net if isinstance(m, BasicBlock)]
    identity = [u for u in units if isinstance(u.shortcut, torch.nn.Identity)]
    assert identity
    for unit in identity:
        x = torch.rand(2, 8, 4, 4)
        torch.testing.assert_close(unit(x), x)
    net.train()
    net(torch.rand(4, 3, 16, 16)).sum().backward()
    last = units[-1].bn2 if norm else units[-1].conv2
    assert last.weight.grad.abs().sum() > 0
    default_init = registry.build_model("deep_cnn", (3, 16, 16), 10, depth=8, widths=[8, 8, 8],
                                    norm=norm, residual=True)
    assert any(u.conv2.weight.abs().sum() > 0 for u in default_init if isinstance(u, BasicBlock))
    with pytest.raises(ValueError, match="zero_init_residual needs residual"):
        registry.build_model("deep_cnn", (3, 16, 16), 10, residual=False, zero_init_residual=True)
