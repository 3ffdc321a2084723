// SwiftUI draws the view models' state and forwards taps; nothing else. Compiled on Apple
// platforms only; the view models they draw are tested on Linux.

#if canImport(SwiftUI)
import Jobpack
import SwiftUI

public struct TodayView: View {
    @State private var model: TodayViewModel
    private let core: Jobpack

    public init(core: Jobpack) {
        self.core = core
        _model = State(initialValue: TodayViewModel(core: core))
    }

    public var body: some View {
        NavigationStack {
            List {
                Section {
                    HStack {
                        Label(model.online ? "Online" : "Offline", systemImage: model.online ? "wifi" : "wifi.slash")
                        Spacer()
                        if model.waiting > 0 { Text("\(model.waiting) waiting") }
                        if model.parked > 0 {
                            NavigationLink("\(model.parked) need you") { OutboxView(core: core) }
                                .foregroundStyle(.red)
                        }
                    }
                    if let error = model.lastSyncError { Text(error).font(.footnote).foregroundStyle(.secondary) }
                }
                Section("Today") {
                    ForEach(model.openJobs, id: \.jobRef) { job in
                        NavigationLink {
                            JobScreen(core: core, jobRef: job.jobRef)
                        } label: {
                            VStack(alignment: .leading) {
                                Text(job.pack.customer.name).font(.headline)
                                Text("\(job.pack.address.line1), \(job.pack.address.postcode)")
                                Text(job.pack.appointment.slot ?? job.pack.appointment.date).font(.caption)
                                ForEach(job.warnings.indices, id: \.self) { i in
                                    WarningLine(warning: job.warnings[i])
                                }
                            }
                        }
                    }
                }
            }
            .navigationTitle("Jobs")
            .refreshable { model.refresh() }
            .task { await model.observe() }
            .alert(item: failureBinding) { failure in Alert(title: Text(failure.message)) }
        }
    }

    private var failureBinding: Binding<IdentifiedFailure?> {
        Binding(get: { model.failure.map(IdentifiedFailure.init) }, set: { _ in })
    }
}

struct WarningLine: View {
    let warning: Warning

    var body: some View {
        switch warning {
        case let .propertyFlag(code, description):
            Label("\(code): \(description)", systemImage: "exclamationmark.triangle").foregroundStyle(.orange)
        case let .unknownPropertyFlag(code):
            Label(code, systemImage: "questionmark.diamond").foregroundStyle(.orange)
        }
    }
}

struct IdentifiedFailure: Identifiable {
    let failure: ScreenFailure
    var id: String { failure.message }
    var message: String { failure.message }
    init(_ failure: ScreenFailure) { self.failure = failure }
}
#endif
