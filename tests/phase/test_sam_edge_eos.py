"""Phase diagrams sam-edge and eos on the single-output second-order model
(docs/sharpness_second_order.md §3; arXiv 2210.04860, 2302.08692)."""
import numpy as np

from hdlimits import phase
from hdlimits.phase.eos import gradient_flow_sharpness
from hdlimits.phase.sam_edge import canonical_model


def test_gradient_flow_value_of_the_canonical_instance():
    # λ_GF = 5.4552 (docs/sharpness_second_order.md §3; from the flow of the moments)
    assert abs(gradient_flow_sharpness(canonical_model()) - 5.4552) < 1e-4


def test_eos_diagram_values():
    r = phase.eos(lrs=[0.3, 0.55], steps=3000, out=None, backend="serial", progress=False)
    e = r.sweep["edge_product"]
    assert abs(e[0] - 1.5516) < 1e-4 and abs(e[1] - 1.9222) < 1e-4


def test_sam_edge_diagram_ratio(tmp_path):
    r = phase.sam_edge(lrs=[0.55], rhos=[0.01, 0.3], steps=3000, out=str(tmp_path / "s"), backend="serial",
                       progress=False)
    ratio = np.asarray(r.sweep["ratio"]).ravel()
    assert np.all((0.95 <= ratio) & (ratio <= 0.98))
    assert (tmp_path / "s.png").exists()
