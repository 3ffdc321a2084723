"""The generated Python package driving the core through an engineer's day, against the real
simulator: coroutines for database and network calls, typed exceptions, camera frames."""

import asyncio
import hashlib
import pathlib
import struct
import threading
import zlib

import pytest

import jobpack
from conftest import BUCKET, JOB
from label_png import read_luma

WAIT_MS = 30_000
LEEDS = jobpack.Location(latitude=53.80, longitude=-1.55, accuracy=12.0)
FIXTURE = pathlib.Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "ont-label.png"


class Recorder(jobpack.EventListener):
    """Collects events from the core's thread; `wait_for` blocks until one matches."""

    def __init__(self):
        self.events = []
        self._changed = threading.Condition()

    def on_event(self, event):
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def wait_for(self, predicate, timeout=WAIT_MS / 1000):
        with self._changed:
            found = self._changed.wait_for(lambda: any(predicate(e) for e in self.events), timeout)
        assert found, f"no matching event among {self.events}"


def label_frame():
    width, height, luma = read_luma(FIXTURE)
    return jobpack.CameraFrame(
        data=luma, width=width, height=height, row_stride=width,
        format=jobpack.PixelFormat.LUMA8, rotation_degrees=0,
    )


def scan(session):
    frame = label_frame()
    for _ in range(5):
        progress = session.feed(frame)
        if progress.is_confirmed():
            return progress.identity
        assert progress.is_seen_once(), progress
    raise AssertionError("the label was not confirmed in 5 frames")


def png(seed, width=64, height=48):
    """A small picture, different for every seed (the core re-encodes it as JPEG)."""
    rows = b"".join(
        b"\x00" + bytes((x * seed + y * 7) % 256 for x in range(width * 3)) for y in range(height)
    )

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def valid_answer(kind):
    """Something an engineer could type for a question of this type."""
    if kind.is_yes_no():
        return "yes"
    if kind.is_single_choice() or kind.is_multiple_choice():
        return kind.choices[0]
    if kind.is_number():
        low = kind.min if kind.min is not None else 0.0
        high = kind.max if kind.max is not None else low + 10
        return f"{(low + high) / 2:.{kind.decimals}f}"
    if kind.is_time():
        return "9:30"
    if kind.is_date():
        return "2026-12-01"
    return "Checked on site"


async def complete(core, journey, closure=None):
    """Answers and photographs until the flow has no gaps, as a screen would drive it."""
    for seed in range(1, 64):
        view = await core.flow(JOB, journey, closure, None)
        if not view.gaps:
            return view
        gap = view.gaps[0]
        if gap.is_unanswered_question():
            assert view.next.code == gap.question_code
            await core.answer_question(JOB, journey, gap.question_code,
                                       valid_answer(view.next.answer_type), None)
        elif gap.is_missing_photos():
            await core.attach_photo(JOB, journey, gap.question_code, png(seed))
        else:
            raise AssertionError(f"cannot fill {gap}")
    raise AssertionError("the flow did not complete")


async def wait_for_provisioning(core):
    for _ in range(100):
        await core.sync_until_idle(WAIT_MS)
        state = (await core.job(JOB)).state
        if not (state.is_ont_scanned() or state.is_provisioning_retrying()):
            return state
        await asyncio.sleep(0.1)
    return (await core.job(JOB)).state


def test_a_whole_job_from_assignment_to_close(simulator, s3, tmp_path):
    sim = simulator("--jobs", "1")
    storage, bucket = s3
    config = sim.config(tmp_path / "e.sqlite")
    config.photo_storage = storage
    # moto listens on loopback without TLS: the QA exception must be asked for.
    config.allow_plain_http_loopback = True
    core = jobpack.Jobpack.open(config)
    recorder = Recorder()
    subscription = core.subscribe(recorder)

    async def journey():
        await core.sync_until_idle(WAIT_MS)
        [job] = await core.jobs()
        assert job.job_ref == JOB and job.state.is_received()
        assert (await core.accept(JOB)).state.is_assigned()
        assert (await core.start_travel(JOB, LEEDS, None)).state.is_en_route()
        assert (await core.arrive(JOB, LEEDS, "2026-12-01T09:30:00+01:00")).state.is_on_site()
        with pytest.raises(jobpack.JobpackError.InvalidAnswer):
            await core.answer_question(JOB, jobpack.Journey.VISIT, "1100", "perhaps", None)
        visit = await complete(core, jobpack.Journey.VISIT)
        assert visit.default_matrix and visit.answered[0].answer == "Yes"
        await core.send_visit_answers(JOB)
        identity = scan(core.scan_session(JOB))
        assert identity.fsan == "ALCLB443689D"
        assert (await core.confirm_ont(JOB, identity.fsan, identity.serial_number, None)).state.is_ont_scanned()
        state = await wait_for_provisioning(core)
        assert state.is_provisioned(), state  # status 1 or 2: both are a working ONT
        with pytest.raises(jobpack.JobpackError.Incomplete) as refused:
            await core.close_job(JOB, "SP", None, "Installed and tested", None)
        assert refused.value.gaps[0].is_unanswered_question(), refused.value.gaps
        closure = await complete(core, jobpack.Journey.CLOSURE, "SP")
        photos = [p for q in closure.answered for p in q.photos]
        assert len(photos) >= 2 and all(p.object_path.startswith(f"s3://{BUCKET}/jobs/{JOB}/") for p in photos)
        receipt = await core.close_job(JOB, "SP", None, "Installed and tested", None)
        assert receipt.state.is_closed()
        await core.sync_until_idle(WAIT_MS)
        return receipt.outbox_seq

    close_seq = asyncio.run(journey())
    outbox = asyncio.run(core.outbox(JOB))
    messages = [i.method for i in outbox if i.kind == jobpack.ItemKind.MESSAGE]
    assert messages == ["notifyJob"] * 5 + ["closeJob"]
    uploads = [i for i in outbox if i.kind == jobpack.ItemKind.UPLOAD]
    stored = bucket.list_objects_v2(Bucket=BUCKET)["Contents"]
    assert len(stored) == len(uploads) >= 2
    for item in stored:
        body = bucket.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
        assert item["Key"].endswith(hashlib.sha256(body).hexdigest() + ".jpg")
    assert all(i.state == jobpack.ItemState.SENT for i in outbox), outbox
    recorder.wait_for(lambda e: e.is_outbox_item_changed() and e.seq == close_seq
                      and e.state == jobpack.ItemState.SENT)
    assert any(e.is_job_changed() and e.job_ref == JOB for e in recorder.events)
    assert any(e.is_sync_state_changed() for e in recorder.events)
    assert any(e.is_scan_progress() and e.progress.is_confirmed() for e in recorder.events)
    subscription.cancel()
    assert core.status().pending == 0


def test_offline_actions_queue_and_drain_on_reconnect(simulator, tmp_path):
    sim = simulator("--jobs", "1")
    core = jobpack.Jobpack.open(sim.config(tmp_path / "e.sqlite"))
    asyncio.run(core.sync_until_idle(WAIT_MS))
    core.set_online(False)
    accepted = asyncio.run(core.accept(JOB))
    travelled = asyncio.run(core.start_travel(JOB, LEEDS, None))
    queued = asyncio.run(core.outbox(JOB))
    assert [i.state for i in queued] == [jobpack.ItemState.QUEUED] * 2
    with pytest.raises(jobpack.JobpackError.Offline):
        asyncio.run(core.sync_until_idle(1000))

    recorder = Recorder()
    subscription = core.subscribe(recorder)
    core.set_online(True)
    recorder.wait_for(lambda e: e.is_outbox_item_changed() and e.seq == travelled.outbox_seq
                      and e.state == jobpack.ItemState.SENT)
    subscription.cancel()
    drained = asyncio.run(core.outbox(JOB))
    assert [i.seq for i in drained] == [accepted.outbox_seq, travelled.outbox_seq]
    assert all(i.state == jobpack.ItemState.SENT for i in drained)


def test_a_parked_item_is_resent_once_fixed_upstream(simulator, tmp_path):
    sim = simulator("--jobs", "1", "--reject-jobs", JOB)
    core = jobpack.Jobpack.open(sim.config(tmp_path / "e.sqlite"))

    async def park_fix_resend():
        await core.sync_until_idle(WAIT_MS)
        seq = (await core.accept(JOB)).outbox_seq
        await core.sync_until_idle(WAIT_MS)
        [parked] = await core.outbox(JOB)
        assert parked.state == jobpack.ItemState.PARKED
        assert "reject" in parked.parked_reason
        with pytest.raises(jobpack.JobpackError.ConfirmationMismatch):
            await core.discard(seq, "not-the-key")
        sim.admin("setFaults", {})
        await core.resend(seq)
        await core.sync_until_idle(WAIT_MS)
        [sent] = await core.outbox(JOB)
        assert sent.state == jobpack.ItemState.SENT
        assert sent.idempotency_key == parked.idempotency_key

    asyncio.run(park_fix_resend())


def test_bad_input_raises_typed_exceptions(offline_config):
    core = jobpack.Jobpack.open(offline_config)
    with pytest.raises(jobpack.JobpackError.UnknownJob) as unknown:
        asyncio.run(core.accept("S404"))
    assert unknown.value.job_ref == "S404"
    with pytest.raises(jobpack.JobpackError.InvalidInput):
        asyncio.run(core.start_travel("S404", jobpack.Location(latitude=200.0, longitude=0.0, accuracy=5.0), None))
    with pytest.raises(jobpack.JobpackError.ManualEntry):
        core.enter_ont_manually(JOB, "ALCLB443689D", "ALCLB443688D")
    bad_frame = jobpack.CameraFrame(data=b"\0" * 10, width=640, height=480, row_stride=640,
                                    format=jobpack.PixelFormat.LUMA8, rotation_degrees=0)
    with pytest.raises(jobpack.JobpackError.InvalidInput):
        core.scan_session(JOB).feed(bad_frame)
    assert core.check_ont_entry("414C434CB443689D").fsan == "ALCLB443689D"
