"""paper_checks/layerwise.py in fast mode (about 45 s): C8, C9, C10 and the streaming limit vs MC."""
import pytest

import paper_checks


@pytest.mark.slow
def test_layerwise_claims_fast(tmp_path):
    rows = paper_checks.run_all(fast=True, outdir=tmp_path, only=["layerwise"])
    failed = [r for r in rows if not r["passed"]]
    assert not failed, failed
    assert len(rows) >= 12
    assert (tmp_path / "layerwise.png").stat().st_size > 10_000
