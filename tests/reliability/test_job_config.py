"""JOB-04: with acks_late, Redis redelivers a task still unacknowledged after the
visibility timeout. The timeout is set in the three places Celery reads it and is more
than twice the longest run a task may have (the hard time limit, which the worker
enforces); the fault side (a killed worker, a rerun) is tests/reliability/test_job_kill.py."""

from crm_project.celery import app


def test_the_visibility_timeout_is_set_everywhere_and_exceeds_twice_the_time_limit():
    conf = app.conf
    timeouts = {
        conf.broker_transport_options["visibility_timeout"],
        conf.result_backend_transport_options["visibility_timeout"],
        conf.visibility_timeout,
    }
    assert len(timeouts) == 1
    assert conf.task_acks_late and conf.task_time_limit
    assert timeouts.pop() > 2 * conf.task_time_limit
    assert conf.worker_prefetch_multiplier == 1
