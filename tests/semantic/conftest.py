"""The tiny real models as endpoints (``tiny-dense``, ``tiny-sparse``, ``tiny-chunked``), as for the processors."""

from tests.processors.conftest import proc_tiny_dense, proc_tiny_sparse, tiny_api  # noqa: F401
