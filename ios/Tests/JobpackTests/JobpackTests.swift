// The Swift layer over the generated bindings, against the real core and simulator: Swift
// labels and Dates in, typed `JobpackError` out, events as an AsyncStream, camera frames.

import Foundation
import Jobpack
import JobpackTestSupport
import XCTest

final class JobpackTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = try temporaryDirectory()
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func testPullActAndTheCoreDecidesTheNextActions() async throws {
        let sim = try Simulator(["--jobs", "1"])
        defer { sim.stop() }
        let core = try Jobpack.open(sim.config(database: dir.appendingPathComponent("e.sqlite")))
        XCTAssertNil(core.recovery)
        try await core.syncUntilIdle(timeout: .seconds(30))
        let jobs = try await core.jobs()
        XCTAssertEqual(jobs.map(\.jobRef), [firstJob])
        XCTAssertEqual(jobs.first?.state, .received)
        var next = try await core.nextActions(job: firstJob)
        XCTAssertEqual(next.actions, [.accept])
        XCTAssertTrue(next.closureChoices.isEmpty)

        let accepted = try await core.accept(job: firstJob)
        XCTAssertEqual(accepted.state, .assigned)
        XCTAssertNotNil(accepted.outboxSeq)
        next = try await core.nextActions(job: firstJob)
        XCTAssertEqual(next.actions, [.startTravel, .close])
        XCTAssertTrue(next.closureChoices.contains { $0.code == "MBORC" && $0.attendance == .notAttended })

        // An action time given as a Date reaches the core in RFC 3339 (a later one: a time
        // before the job's previous action would be clamped to it, as a clock set back is).
        let set = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 3600).rounded())
        let travelling = try await core.startTravel(job: firstJob, location: leeds, at: set)
        XCTAssertEqual(travelling.state, .enRoute)
        let items = try await core.outbox(job: firstJob)
        XCTAssertEqual(items.map(\.method), ["notifyJob", "notifyJob"])
        XCTAssertEqual(items.last?.actedAt, set)

        do {
            try await core.accept(job: firstJob)
            XCTFail("accepted twice")
        } catch let JobpackError.notAllowed(job, reason) {
            XCTAssertEqual(job, firstJob)
            XCTAssertFalse(reason.isEmpty)
        }
        try await core.syncUntilIdle(timeout: .seconds(30))
        let sent = try await core.outbox(job: firstJob)
        XCTAssertTrue(sent.allSatisfy { $0.state == .sent }, "\(sent)")
    }

    func testEventsArriveAsAnAsyncStreamUntilTheTaskEnds() async throws {
        let sim = try Simulator(["--jobs", "1"])
        defer { sim.stop() }
        let core = try Jobpack.open(sim.config(database: dir.appendingPathComponent("e.sqlite")))
        try await core.syncUntilIdle(timeout: .seconds(30))
        core.setOnline(false)
        let accepted = try await core.accept(job: firstJob)
        let seq = try XCTUnwrap(accepted.outboxSeq)

        // Subscribed before going online: the queued item's way to Sent is seen.
        let events = core.events()
        do {
            try await core.syncUntilIdle(timeout: .seconds(1))
            XCTFail("synced while offline")
        } catch JobpackError.offline {}
        XCTAssertFalse(core.status.online)
        let queued = try await core.outbox(job: firstJob)
        XCTAssertEqual(queued.map(\.state), [.queued])
        core.setOnline(true)
        let seen = try await withTimeout(seconds: 30) {
            var seen: [Event] = []
            for await event in events {
                seen.append(event)
                if case let .outboxItemChanged(itemSeq, _, state) = event, itemSeq == seq, state == .sent {
                    break
                }
            }
            return seen
        }
        // Coming online sent it by itself, through Sending to Sent.
        let states = seen.compactMap { event -> ItemState? in
            if case let .outboxItemChanged(itemSeq, _, state) = event, itemSeq == seq { state } else { nil }
        }
        XCTAssertEqual(states.suffix(2), [.sending, .sent], "\(seen)")
    }

    func testCameraFramesConfirmTheLabel() throws {
        let core = try Jobpack.open(offlineConfig(database: dir.appendingPathComponent("e.sqlite")))
        let session = core.scanSession(for: firstJob)
        XCTAssertEqual(session.job, firstJob)
        let frame = try Fixtures.labelFrame()
        guard case let .seenOnce(identity, count) = try session.feed(frame) else {
            return XCTFail("the label was not seen")
        }
        XCTAssertEqual(count, 1)
        XCTAssertEqual(identity.fsan, "ALCLB443689D")
        guard case let .confirmed(confirmed) = try session.feed(frame) else {
            return XCTFail("the label was not confirmed")
        }
        XCTAssertEqual(confirmed.serialNumber, "YP2244017834")
        XCTAssertEqual(confirmed.mac, "00:11:22:AA:BB:CC")
        XCTAssertEqual(confirmed.vendor, "Nokia")

        // The luma plane as a sensor mounted 90 degrees off hands it over, rows padded.
        let rotated = core.scanSession(for: firstJob)
        let turned = try Fixtures.rotatedLabelFrame()
        _ = try rotated.feed(turned)
        guard case .confirmed = try rotated.feed(turned) else {
            return XCTFail("the rotated label was not confirmed")
        }
        session.reset()
        let blank = CameraFrame(data: Data(repeating: 200, count: 64 * 48), width: 64, height: 48, rowStride: 64, format: .luma8, rotationDegrees: 0)
        XCTAssertEqual(try session.feed(blank), .nothing)
    }

    func testBadInputIsATypedSwiftError() async throws {
        let core = try Jobpack.open(offlineConfig(database: dir.appendingPathComponent("e.sqlite")))
        await assertThrows(JobpackError.unknownJob(job: "S404")) { try await core.accept(job: "S404") }
        await assertThrows(kind: "invalidInput") {
            try await core.startTravel(job: "S404", location: Location(latitude: 200, longitude: 0, accuracy: 5))
        }
        await assertThrows(kind: "invalidInput") {
            try await core.confirmOnt(job: "S404", fsan: "NOT-AN-FSAN", serialNumber: "YP1")
        }
        await assertThrows(JobpackError.unknownOutboxItem(seq: 99)) { try await core.resend(99) }
        await assertThrows(JobpackError.noEndpoints) { try await core.syncUntilIdle(timeout: .seconds(1)) }
        XCTAssertThrowsError(try core.enterOntManually(job: firstJob, first: "ALCLB443689D", second: "ALCLB443688D")) { error in
            guard case let JobpackError.manualEntry(reason) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reason.contains("differ"), reason)
        }
        XCTAssertEqual(try core.checkOntEntry("alclb443689d").fsan, "ALCLB443689D")
        let badFrame = CameraFrame(data: Data(count: 10), width: 640, height: 480, rowStride: 640, format: .luma8, rotationDegrees: 0)
        XCTAssertThrowsError(try core.scanSession(for: firstJob).feed(badFrame)) { error in
            guard case JobpackError.invalidInput = error else { return XCTFail("\(error)") }
        }
        var broken = offlineConfig(database: dir.appendingPathComponent("other.sqlite"))
        broken.endpoints = ["https://127.0.0.1:9"]
        broken.trustAnchorsPem = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"
        XCTAssertThrowsError(try Jobpack.open(broken)) { error in
            guard case JobpackError.config = error else { return XCTFail("\(error)") }
            XCTAssertNotNil((error as? LocalizedError)?.errorDescription)
        }
    }
}

func assertThrows(_ expected: JobpackError, file: StaticString = #filePath, line: UInt = #line, _ call: () async throws -> some Any) async {
    do {
        _ = try await call()
        XCTFail("no error; expected \(expected)", file: file, line: line)
    } catch {
        XCTAssertEqual(error as? JobpackError, expected, file: file, line: line)
    }
}

/// Asserts the call throws the `JobpackError` case named `kind` (whatever its reason text).
func assertThrows(kind: String, file: StaticString = #filePath, line: UInt = #line, _ call: () async throws -> some Any) async {
    do {
        _ = try await call()
        XCTFail("no error; expected .\(kind)", file: file, line: line)
    } catch let error as JobpackError {
        XCTAssertTrue("\(error)".hasPrefix(kind + "("), "\(error) is not .\(kind)", file: file, line: line)
    } catch {
        XCTFail("\(error) is not a JobpackError", file: file, line: line)
    }
}
