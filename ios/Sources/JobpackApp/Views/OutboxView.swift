#if canImport(SwiftUI)
import Jobpack
import SwiftUI

/// What is waiting, and the parked items with their reason, fix, resend and discard.
public struct OutboxView: View {
    @State private var model: OutboxViewModel
    @State private var confirmingDiscard: OutboxItem?
    @State private var fixCode = ""

    public init(core: Jobpack, jobRef: String? = nil) {
        _model = State(initialValue: OutboxViewModel(core: core, jobRef: jobRef))
    }

    public var body: some View {
        List {
            Section("Needs you") {
                ForEach(model.parked, id: \.seq) { item in
                    VStack(alignment: .leading) {
                        Text("\(item.jobRef) · \(item.label)").font(.headline)
                        Text(item.parkedReason ?? "").font(.footnote)
                        HStack {
                            Button("Resend") { Task { await model.resend(item) } }
                            Button("Discard", role: .destructive) { confirmingDiscard = item }
                        }
                        if model.canFix(item) {
                            TextField("Closure code", text: $fixCode)
                            Button("Fix and resend") { Task { await model.fix(item, code: fixCode) } }
                        }
                    }
                }
            }
            Section("Waiting") {
                ForEach(model.waiting, id: \.seq) { item in
                    Text("\(item.jobRef) · \(item.label) · \(String(describing: item.state))")
                }
            }
            if let failure = model.failure { Text(failure.message).foregroundStyle(.red) }
        }
        .navigationTitle("Outbox")
        .refreshable { model.sendNow() }
        .task { await model.load() }
        .confirmationDialog("Discard this message? CityFibre will never receive it.",
                            isPresented: Binding(get: { confirmingDiscard != nil }, set: { if !$0 { confirmingDiscard = nil } })) {
            Button("Discard", role: .destructive) {
                if let item = confirmingDiscard { Task { await model.discard(item) } }
            }
        }
    }
}
#endif
