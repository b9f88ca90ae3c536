"""Other ways to execute an ingest job. ``ray_job.run_on_ray`` runs ``ingest run``/``ingest reindex`` on Ray Data.

Nothing outside this package imports Ray: the CLI imports ``ingest.executors.ray_job`` only when
``--executor ray`` is given, and the modules here that do not need Ray (``pool``, ``splits``, ``schedule``,
``owner``) never import it, so they are unit-tested without it.
"""
