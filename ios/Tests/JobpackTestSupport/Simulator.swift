// The CityFibre simulator for the Swift tests: the real `jobpack sim` process (mutual TLS on
// loopback, a fresh CA per start) named by JOBPACK_BIN, as the Kotlin and Python suites use it.

import Foundation
import Jobpack

public enum TestSetupError: Error, CustomStringConvertible {
    case missing(String)
    case simulator(String)

    public var description: String {
        switch self {
        case let .missing(what): "missing: \(what)"
        case let .simulator(why): "simulator: \(why)"
        }
    }
}

public final class Simulator {
    public let url: String
    public let certs: URL
    private let process: Process

    /// Starts `jobpack sim` with `arguments` added and waits for its ready line.
    public init(_ arguments: [String] = []) throws {
        guard let binary = ProcessInfo.processInfo.environment["JOBPACK_BIN"] else {
            throw TestSetupError.missing("JOBPACK_BIN must name the jobpack CLI (scripts/test.sh sets it)")
        }
        certs = FileManager.default.temporaryDirectory.appendingPathComponent("jobpack-sim-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: certs, withIntermediateDirectories: true)
        process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["sim", "--listen", "127.0.0.1:0", "--certs", certs.path] + arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let ready = Self.firstLine(of: output.fileHandleForReading)
        guard
            let data = ready.data(using: .utf8),
            let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let url = (json["urls"] as? [String])?.first
        else {
            process.terminate()
            throw TestSetupError.simulator("no URL in its ready line: \(ready)")
        }
        self.url = url
    }

    deinit {
        stop()
    }

    /// Stops the simulator: SIGTERM, then SIGKILL if it is still there after 2 seconds (a graceful
    /// shutdown waits for the open connections of a core that is still alive).
    public func stop() {
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(2)
            while process.isRunning, Date() < deadline {
                usleep(20_000)
            }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
        try? FileManager.default.removeItem(at: certs)
    }

    public func pem(_ name: String) throws -> String {
        try String(contentsOf: certs.appendingPathComponent(name), encoding: .utf8)
    }

    /// A core configuration for engineer E001 of this simulator.
    public func config(database: URL, startOnline: Bool = true, matrix: String? = Matrix.json, photos: PhotoStorage? = nil) throws -> Config {
        Config(
            databasePath: database.path,
            endpoints: [url],
            clientCertificatePem: try pem("client-E001.pem"),
            clientKeyPem: try pem("client-E001.key"),
            trustAnchorsPem: try pem("ca.pem"),
            engineer: Engineer(id: "E001", name: "Sam Fielding", phone: "07700900123", company: "Jobpack Ltd"),
            partnerCatalogueJson: nil,
            startOnline: startOnline,
            requestTimeoutSecs: 10,
            closureMatrixJson: matrix,
            photoStorage: photos,
            // moto's S3 stand-in listens on plain http on loopback: the QA exception to https only.
            allowPlainHttpLoopback: photos != nil
        )
    }

    private static func firstLine(of handle: FileHandle) -> String {
        var bytes = Data()
        while true {
            let byte = handle.readData(ofLength: 1)
            if byte.isEmpty || byte == Data([0x0A]) { break }
            bytes.append(byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// A core with no endpoints (it never syncs), for scanning and bad-input tests.
public func offlineConfig(database: URL) -> Config {
    Config(
        databasePath: database.path,
        endpoints: [],
        clientCertificatePem: nil,
        clientKeyPem: nil,
        trustAnchorsPem: "",
        engineer: Engineer(id: "E001", name: "Sam Fielding", phone: "07700900123", company: nil),
        partnerCatalogueJson: nil,
        startOnline: false,
        requestTimeoutSecs: 10,
        closureMatrixJson: nil,
        photoStorage: nil
    )
}

/// CityFibre's photo bucket stand-in (moto's S3 server) that scripts/test.sh starts and names
/// in JOBPACK_S3_ENDPOINT, with the bucket already made.
public func photoStorage() -> PhotoStorage? {
    let environment = ProcessInfo.processInfo.environment
    guard let endpoint = environment["JOBPACK_S3_ENDPOINT"] else { return nil }
    // QA's direct mode: the keys on the device, against moto with no hub.
    return PhotoStorage(
        bucket: environment["JOBPACK_S3_BUCKET"] ?? "cityfibre-evidence",
        trustAnchorsPem: nil,
        maxEdge: 1024,
        directS3: DirectS3(
            endpoint: endpoint,
            region: "us-east-1",
            accessKeyId: "AKIASWIFTTEST",
            secretAccessKey: "swift-test-secret"
        )
    )
}

/// A fresh directory for one test's database.
public func temporaryDirectory() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("jobpack-swift-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

public let leeds = Location(latitude: 53.80, longitude: -1.55, accuracy: 12)
public let firstJob = "S1000001"
public let secondJob = "S1000002"
