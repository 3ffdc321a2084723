// An engineer's day through the view models, against the real core and the simulator: pull,
// accept, travel, arrive, visit question, scan the label from camera frames, manual entry on
// the next job, closure questions with a photo answered offline, back online, a closeJob that
// CityFibre refuses parked, fixed on the outbox screen and resent.

import Foundation
import Jobpack
import JobpackApp
import JobpackTestSupport
import XCTest

@MainActor
final class EngineersDayTests: XCTestCase {
    private var dir: URL!

    override func setUp() async throws {
        dir = try temporaryDirectory()
    }

    override func tearDown() async throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func testAnEngineersDay() async throws {
        guard let photos = photoStorage() else {
            throw XCTSkip("JOBPACK_S3_ENDPOINT names no S3 stand-in (scripts/test.sh starts one)")
        }
        // CityFibre refuses REVCOMP (a repair code) on an installation: the engineer's slip.
        let sim = try Simulator(["--jobs", "2", "--reject-closure-codes", "REVCOMP"])
        defer { sim.stop() }
        let core = try Jobpack.open(sim.config(database: dir.appendingPathComponent("day.sqlite"), photos: photos))

        // Morning: the jobs are pulled.
        let today = TodayViewModel(core: core)
        today.refresh()
        try await core.syncUntilIdle(timeout: .seconds(30))
        await today.load()
        XCTAssertEqual(today.jobs.map(\.jobRef), [firstJob, secondJob])
        XCTAssertEqual(today.openJobs.count, 2)
        XCTAssertEqual(today.waiting, 0)
        XCTAssertTrue(today.online)

        // The job screen offers one step at a time.
        let job = JobViewModel(core: core, jobRef: firstJob)
        await job.load()
        XCTAssertEqual(job.actions, [.accept])
        await job.perform(.accept)
        XCTAssertEqual(job.job?.state, .assigned)
        XCTAssertEqual(job.actions, [.startTravel, .close])
        let noLocation = await job.perform(.startTravel)
        XCTAssertNil(noLocation)
        XCTAssertNotNil(job.failure, "travelling needs a location")
        await job.perform(.startTravel, location: leeds)
        XCTAssertEqual(job.actions, [.arrive, .close])
        await job.perform(.arrive, location: leeds)
        XCTAssertEqual(job.job?.state, .onSite)
        XCTAssertEqual(job.actions, [.scanOnt, .answerVisit, .close])
        XCTAssertNil(job.failure)

        // The visit question: the checklist refuses an early send.
        guard case let .questions(journey)? = await job.perform(.answerVisit) else {
            return XCTFail("answering opens the questions")
        }
        let visit = QuestionsViewModel(core: core, jobRef: firstJob, journey: journey)
        await visit.load()
        XCTAssertEqual(visit.current?.code, "1100")
        XCTAssertEqual(visit.current?.answerType, .yesNo)
        await visit.send()
        XCTAssertNil(visit.sent)
        XCTAssertEqual(visit.checklist.map(\.questionCode), ["1100"])
        await visit.answer("y")
        XCTAssertEqual(visit.answered.first?.answer, "Yes")
        XCTAssertTrue(visit.isComplete)
        await visit.send()
        XCTAssertNotNil(visit.sent)

        // The label, from camera frames, confirmed by the engineer.
        guard await job.perform(.scanOnt) == .scan else { return XCTFail("scanning opens the scanner") }
        let scan = ScanViewModel(core: core, jobRef: firstJob)
        let frame = try Fixtures.labelFrame()
        for _ in 0..<5 where scan.wantsFrames {
            await scan.feed(frame)
        }
        guard case let .confirmed(identity) = scan.phase else {
            return XCTFail("not confirmed: \(scan.phase)")
        }
        XCTAssertFalse(scan.wantsFrames)
        await scan.confirm()
        XCTAssertEqual(scan.phase, .sent(identity, state: .ontScanned))

        // The next job's label is damaged: typed twice, a typo caught, then the duplicate.
        let manual = ScanViewModel(core: core, jobRef: secondJob)
        manual.firstEntryChanged("ALCLB44368")
        XCTAssertNotNil(manual.firstEntryProblem)
        manual.firstEntryChanged("ALCLB443689D")
        XCTAssertNil(manual.firstEntryProblem)
        manual.submitManualEntry(first: "ALCLB443689D", second: "ALCLB443688D")
        guard case .manualEntry? = manual.failure?.error else { return XCTFail("\(String(describing: manual.failure))") }
        manual.submitManualEntry(first: "ALCLB443689D", second: "alclb443689d")
        guard case let .manualEntry(reason)? = manual.failure?.error else { return XCTFail("a duplicate is refused") }
        XCTAssertTrue(reason.contains(firstJob), "the refusal names the job holding the ONT: \(reason)")

        // CityFibre provisions the ONT (a status 4 retry may come first).
        for _ in 0..<100 {
            try await core.syncUntilIdle(timeout: .seconds(30))
            await job.load()
            if case .provisioned = job.job?.state { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        guard case .provisioned = job.job?.state else { return XCTFail("not provisioned: \(String(describing: job.job?.state))") }
        XCTAssertTrue(job.closureChoices.contains { $0.code == "SP" })

        // In the loft, no signal: the closure is done offline.
        today.connectivityChanged(online: false)
        XCTAssertFalse(today.online)
        guard case let .close(choices)? = await job.perform(.close) else { return XCTFail("closing opens the picker") }
        XCTAssertTrue(choices.contains { $0.code == "REVCOMP" })
        let closure = QuestionsViewModel(core: core, jobRef: firstJob, journey: .closure)
        await closure.pickClosure(code: "REVCOMP")
        XCTAssertEqual(closure.current?.code, "2000")
        guard case let .number(unit, _, _, decimals)? = closure.current?.answerType else {
            return XCTFail("the light level is a number")
        }
        XCTAssertEqual(unit, "dBm")
        XCTAssertEqual(decimals, 2)
        await closure.answer("-99")
        XCTAssertNotNil(closure.answerProblem, "out of the question's range")
        XCTAssertEqual(closure.current?.code, "2000")
        await closure.answer("-19.25")
        XCTAssertNil(closure.answerProblem)
        XCTAssertEqual(closure.current?.code, "2100")
        XCTAssertEqual(closure.current?.minPhotos, 1)
        await closure.answer("yes")
        await closure.answer("Pat Customer")
        XCTAssertNil(closure.current)
        XCTAssertEqual(closure.checklist.map(\.questionCode), ["2100"], "the photo is missing")
        await closure.send(description: "Installed and tested")
        XCTAssertNil(closure.sent)
        await closure.attachPhoto(try Fixtures.labelPhoto(), to: "2100")
        XCTAssertNil(closure.failure)
        XCTAssertEqual(closure.answered.first { $0.code == "2100" }?.photos.count, 1)
        XCTAssertTrue(closure.isComplete)
        await closure.send(description: "Installed and tested")
        XCTAssertEqual(closure.sent?.state, .closed)

        // Nothing could be sent: the upload and the closeJob wait, in that order.
        await today.load()
        XCTAssertGreaterThanOrEqual(today.waiting, 2)
        let outbox = OutboxViewModel(core: core, jobRef: firstJob)
        await outbox.load()
        XCTAssertEqual(outbox.waiting.last?.method, "closeJob")
        XCTAssertTrue(outbox.waiting.contains { $0.kind == .upload })
        do {
            try await core.syncUntilIdle(timeout: .seconds(1))
            XCTFail("synced offline")
        } catch JobpackError.offline {}

        // Back in signal: everything drains at once; CityFibre refuses REVCOMP for good.
        today.connectivityChanged(online: true)
        try await core.syncUntilIdle(timeout: .seconds(30))
        await outbox.load()
        await today.load()
        XCTAssertEqual(today.waiting, 0)
        XCTAssertEqual(today.parked, 1)
        let parked = try XCTUnwrap(outbox.parked.first)
        XCTAssertEqual(parked.method, "closeJob")
        XCTAssertNotNil(parked.parkedReason)
        XCTAssertTrue(outbox.canFix(parked))
        XCTAssertTrue(outbox.items.filter { $0.kind == .upload }.allSatisfy { $0.state == .sent }, "the photo arrived")

        // Fixed on the outbox screen and resent.
        await outbox.fix(parked, code: "SP")
        XCTAssertNil(outbox.failure)
        try await core.syncUntilIdle(timeout: .seconds(30))
        await outbox.load()
        XCTAssertTrue(outbox.parked.isEmpty)
        XCTAssertTrue(outbox.items.allSatisfy { $0.state == .sent }, "\(outbox.items.map { ($0.label, $0.state) })")
        XCTAssertEqual(outbox.status.parked, 0)
        await job.load()
        XCTAssertEqual(job.job?.closure?.code, "SP")
        XCTAssertEqual(job.actions, [])
        await today.load()
        XCTAssertEqual(today.openJobs.map(\.jobRef), [secondJob])
    }

    func testAParkedItemIsResentOrDiscardedOnlyAsShown() async throws {
        let sim = try Simulator(["--jobs", "2", "--reject-jobs", firstJob])
        defer { sim.stop() }
        let core = try Jobpack.open(sim.config(database: dir.appendingPathComponent("outbox.sqlite")))
        try await core.syncUntilIdle(timeout: .seconds(30))
        let job = JobViewModel(core: core, jobRef: firstJob)
        await job.load()
        await job.perform(.accept)
        try await core.syncUntilIdle(timeout: .seconds(30))

        let outbox = OutboxViewModel(core: core)
        await outbox.load()
        let parked = try XCTUnwrap(outbox.parked.first)
        XCTAssertFalse(outbox.canFix(parked), "only a refused closeJob takes new codes")
        XCTAssertEqual(outbox.status.parked, 1)
        // Resending unchanged parks it again (the simulator still refuses the job).
        await outbox.resend(parked)
        XCTAssertNil(outbox.failure)
        try await core.syncUntilIdle(timeout: .seconds(30))
        await outbox.load()
        let again = try XCTUnwrap(outbox.parked.first)
        XCTAssertEqual(again.idempotencyKey, parked.idempotencyKey, "a resend is the same message")
        await outbox.discard(again)
        XCTAssertNil(outbox.failure)
        XCTAssertEqual(outbox.items.first?.state, .discarded)
        XCTAssertTrue(outbox.parked.isEmpty)
        // The item shown is no longer parked: a second discard is refused, typed.
        await outbox.discard(again)
        guard case .notParked? = outbox.failure?.error else { return XCTFail("\(String(describing: outbox.failure))") }
    }
}
