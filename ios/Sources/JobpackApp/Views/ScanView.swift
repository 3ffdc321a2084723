#if canImport(SwiftUI)
import Jobpack
import SwiftUI

/// The label scanner: the camera's progress, the confirmation, and manual double entry.
public struct ScanView: View {
    @State private var model: ScanViewModel
    @State private var first = ""
    @State private var second = ""
    #if canImport(AVFoundation) && os(iOS)
    @State private var camera: CameraFeed?
    #endif

    public init(core: Jobpack, jobRef: String) {
        _model = State(initialValue: ScanViewModel(core: core, jobRef: jobRef))
    }

    public var body: some View {
        Form {
            Section("Label") {
                switch model.phase {
                case let .scanning(seen): Text(seen == 0 ? "Point the camera at the ONT label" : "Hold steady…")
                case let .notALabel(reason): Text(reason).foregroundStyle(.orange)
                case let .confirmed(identity):
                    IdentityView(identity: identity)
                    Button("Send this ONT") { Task { await model.confirm() } }
                    Button("Scan again", role: .cancel) { model.rescan() }
                case let .chooseSerial(identity, candidates):
                    IdentityView(identity: identity)
                    Text("Which of these is the serial number on the label?")
                    ForEach(candidates, id: \.self) { serial in
                        Button(serial) { model.chooseSerial(serial) }
                    }
                    Button("Scan again", role: .cancel) { model.rescan() }
                case let .duplicate(identity, otherJob):
                    IdentityView(identity: identity)
                    Text("Already on job \(otherJob)").foregroundStyle(.red)
                    Button("Scan another label") { model.rescan() }
                case let .sent(identity, _):
                    IdentityView(identity: identity)
                    Label("Sent", systemImage: "checkmark.circle")
                }
            }
            Section("Damaged label: type it twice") {
                TextField("FSAN", text: $first).onChange(of: first) { _, text in model.firstEntryChanged(text) }
                if let problem = model.firstEntryProblem { Text(problem).font(.footnote).foregroundStyle(.red) }
                TextField("FSAN again", text: $second).onChange(of: second) { _, text in model.secondEntryChanged(text) }
                if let problem = model.secondEntryProblem { Text(problem).font(.footnote).foregroundStyle(.red) }
                Button("Check") { model.submitManualEntry(first: first, second: second) }
            }
            if let failure = model.failure { Text(failure.message).foregroundStyle(.red) }
        }
        #if canImport(AVFoundation) && os(iOS)
        .onAppear {
            let feed = CameraFeed(model: model)
            try? feed.start()
            camera = feed
        }
        .onDisappear { camera?.stop() }
        #endif
    }
}

struct IdentityView: View {
    let identity: OntIdentity

    var body: some View {
        VStack(alignment: .leading) {
            Text(identity.fsan).font(.title3.monospaced())
            if let serial = identity.serialNumber { Text("S/N \(serial)") }
            Text(identity.vendor)
            ForEach(identity.warnings, id: \.self) { Text($0).foregroundStyle(.orange) }
        }
    }
}
#endif
