"""eryx on Ray: sandboxes over the actors of a Ray cluster (docs/SCALE.md).

    from eryx.ray import EryxExecutor
    with EryxExecutor(num_actors=4) as ex:
        for r in ex.map(codes, batch_size=16):
            print(r.index, r.ok, r.stdout_text)

Needs Ray (`pip install ray==2.60.0`: python/requirements-ray.txt) on the driver and
on every node, with eryx installed alike."""
try:
    import ray as _ray  # noqa: F401
except ImportError as e:  # the name of what is missing, not a bare ModuleNotFoundError deep inside
    raise ImportError(f"eryx.ray needs Ray (pip install ray==2.60.0, python/requirements-ray.txt): {e}") from e

from .executor import EryxExecutor
from .results import RayResult
from .session import RaySession, SessionLostError

__all__ = ["EryxExecutor", "RayResult", "RaySession", "SessionLostError"]
