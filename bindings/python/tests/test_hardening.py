"""The hardening additions through the bindings: typed database refusals, sign-out that
refuses to lose unsent work, retention, and the storage key's checks."""

import asyncio

import pytest

import jobpack
from conftest import JOB


def test_a_directory_in_the_way_is_refused_as_not_a_file(offline_config, tmp_path):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    offline_config.database_path = str(folder)
    with pytest.raises(jobpack.JobpackError.DatabaseUnavailable) as refused:
        jobpack.Jobpack.open(offline_config)
    assert refused.value.problem == jobpack.DatabaseProblem.NOT_A_REGULAR_FILE
    assert folder.is_dir()


def test_a_storage_key_must_have_32_bytes(offline_config):
    offline_config.storage_key = b"short"
    with pytest.raises(jobpack.JobpackError.Config):
        jobpack.Jobpack.open(offline_config)


def test_plain_http_needs_the_qa_flag_and_loopback(offline_config):
    offline_config.endpoints = ["http://hub.example"]
    with pytest.raises(jobpack.JobpackError.Config):
        jobpack.Jobpack.open(offline_config)
    offline_config.allow_plain_http_loopback = True
    with pytest.raises(jobpack.JobpackError.Config):
        jobpack.Jobpack.open(offline_config)


def test_sign_out_refuses_while_work_is_unsent_unless_forced(simulator, tmp_path):
    sim = simulator("--jobs", "1")
    database = tmp_path / "e.sqlite"
    core = jobpack.Jobpack.open(sim.config(database))
    asyncio.run(core.sync_until_idle(30_000))
    core.set_online(False)
    asyncio.run(core.accept(JOB))
    assert asyncio.run(core.unsent_items()) == 1
    pruned = asyncio.run(core.prune(jobpack.Retention(
        sent_messages_days=0, applied_inbox_days=0, uploaded_photos_days=0)))
    assert pruned.outbox_rows == 0, "unsent work is never pruned"
    del core

    with pytest.raises(jobpack.JobpackError.UnsentWork) as refused:
        jobpack.wipe_device_data(str(database), None, None, False)
    assert refused.value.items == 1
    assert database.exists()
    report = jobpack.wipe_device_data(str(database), None, None, True)
    assert report.unsent_items_lost == 1
    assert not database.exists()


def test_the_storage_key_encrypts_the_database_and_another_key_is_refused(offline_config, tmp_path):
    database = tmp_path / "sealed.sqlite"
    offline_config.database_path = str(database)
    offline_config.storage_key = bytes(range(32))
    core = jobpack.Jobpack.open(offline_config)
    del core
    assert not database.read_bytes().startswith(b"SQLite format 3"), "encrypted at rest"
    before = database.read_bytes()

    offline_config.storage_key = bytes(32)
    with pytest.raises(jobpack.JobpackError.DatabaseUnavailable) as refused:
        jobpack.Jobpack.open(offline_config)
    assert refused.value.problem == jobpack.DatabaseProblem.WRONG_KEY
    assert database.read_bytes() == before, "untouched"

    with pytest.raises(jobpack.JobpackError.DatabaseUnavailable):
        jobpack.wipe_device_data(str(database), None, bytes(32), False)
    report = jobpack.wipe_device_data(str(database), None, bytes(32), True)
    assert report.unreadable
    assert not database.exists()
