import pytest
import torch
from torch import nn

from cnnlab.models.architecture import parameter_count, receptive_fields, widths_for_budget
from cnnlab.models.registry import build_model, count_parameters
from cnnlab.models import probes


def test_receptive_field_of_a_hand_worked_stack():
    # conv3: 3; conv3: 5; pool2 (jump 2): 6; conv3: 6 + 2*2 = 10; conv5 stride 2: 10 + 4*2 = 18
    # (jump 4); dilated conv3 (dilation 2): 18 + 2*2*4 = 34.
    model = nn.Sequential(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3), nn.MaxPool2d(2),
                          nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 5, stride=2),
                          nn.Conv2d(1, 1, 3, dilation=2))
    steps = receptive_fields(model)
    assert [s.receptive_field for s in steps] == [3, 5, 6, 10, 18, 34]
    assert [s.jump for s in steps] == [1, 1, 2, 2, 4, 4]


def test_receptive_field_skips_shortcut_projections():
    # Two basic blocks, the second strided with a 1x1 projection shortcut:
    # 3, 5 | 5 + 2*1 = 7 (stride 2, jump 2), 7 + 2*2 = 11.
    model = build_model("deep_cnn", (3, 16, 16), 10, depth=4, widths=[4, 8], residual=True)
    assert [s.receptive_field for s in receptive_fields(model)] == [3, 5, 7, 11]


def test_kernel_cnn_receptive_fields():
    # k x k conv, pool, conv, pool, conv: 1 + (k-1) + 1 + 2(k-1) + 2 + 4(k-1) = 7k - 3
    for k in (3, 5, 7):
        model = build_model("kernel_cnn", (3, 32, 32), 10, kernel_size=k)
        assert receptive_fields(model)[-1].receptive_field == 7 * k - 3


@pytest.mark.parametrize("budget", [30000, 60000, 120000])
def test_kernel_variants_match_the_budget_within_5_percent(budget):
    counts = [count_parameters(build_model("kernel_cnn", (3, 32, 32), 10, kernel_size=k,
                                           factorized=f, budget=budget))
              for k, f in ((3, False), (5, False), (7, False), (3, True))]
    for c in counts:
        assert abs(c - budget) / budget < 0.05, counts
    assert max(counts) / min(counts) < 1.05


def test_widths_for_budget_is_closest_in_its_family():
    def build(ws):
        return nn.Sequential(nn.Conv2d(3, ws[0], 3), nn.Conv2d(ws[0], ws[1], 3),
                             nn.Conv2d(ws[1], ws[2], 3))
    ws = widths_for_budget(build, 50000)
    got = parameter_count(build, ws)
    neighbours = [parameter_count(build, ws[:-1] + [ws[-1] + d]) for d in (-1, 1)]
    assert all(abs(got - 50000) <= abs(n - 50000) for n in neighbours)


def test_plain_and_residual_deep_cnn_have_the_same_main_path():
    for depth in (2, 4, 8):
        plain = build_model("deep_cnn", (3, 32, 32), 10, depth=depth)
        res = build_model("deep_cnn", (3, 32, 32), 10, depth=depth, residual=True)
        convs = [m for n, m in plain.named_modules() if isinstance(m, nn.Conv2d)]
        assert len(convs) == depth
        assert receptive_fields(plain) == receptive_fields(res)
    with pytest.raises(ValueError, match="even number"):
        build_model("deep_cnn", (3, 32, 32), 10, depth=3)


def test_effective_receptive_field_is_centred_and_inside_the_theoretical_one():
    torch.manual_seed(0)
    model = build_model("kernel_cnn", (1, 32, 32), 10, kernel_size=3, widths=[4, 8, 8])
    field = probes.effective_receptive_field(model, torch.randn(4, 1, 32, 32))
    assert field.shape == (32, 32) and field.max() == 1
    theory = receptive_fields(model)[-1].receptive_field
    ys, xs = torch.nonzero(field > 0, as_tuple=True)
    # The gradient reaches exactly the theoretical field, a square around the centre.
    assert ys.max() - ys.min() + 1 == theory and xs.max() - xs.min() + 1 == theory
    assert 14 <= (ys.min() + ys.max()) / 2 <= 18 and 14 <= (xs.min() + xs.max()) / 2 <= 18


def test_feature_maps_and_first_layer_shapes():
    model = build_model("deep_cnn", (3, 32, 32), 10, depth=4, widths=[4, 8], residual=True)
    maps = probes.feature_maps(model, torch.randn(2, 3, 32, 32))
    assert [tuple(m.shape[1:]) for m in maps] == [(4, 32, 32), (8, 16, 16)]
    weights, acts = probes.first_layer(model, torch.randn(1, 3, 32, 32))
    assert weights.shape == (4, 3, 3, 3) and acts.shape == (1, 4, 32, 32)
