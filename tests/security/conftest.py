"""Security regression tests share the API tests' loopback webhook receiver and their job cleanup."""

from tests.api.conftest import no_jobs_left_behind, receiver

__all__ = ["no_jobs_left_behind", "receiver"]
