"""Asynchronous jobs: the store (:mod:`.store`) and the runtime that works them (:mod:`.runtime`)."""
