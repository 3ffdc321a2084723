#if canImport(SwiftUI)
import Jobpack
import SwiftUI

/// The job pack and the actions the core offers now. The location comes from the shell's
/// location service (`currentLocation`), passed in by the app.
public struct JobScreen: View {
    @State private var model: JobViewModel
    @State private var route: JobRoute?
    private let core: Jobpack
    private let currentLocation: () -> Location?

    public init(core: Jobpack, jobRef: String, currentLocation: @escaping () -> Location? = { nil }) {
        self.core = core
        self.currentLocation = currentLocation
        _model = State(initialValue: JobViewModel(core: core, jobRef: jobRef))
    }

    public var body: some View {
        List {
            if let job = model.job {
                Section("Customer") {
                    Text(job.pack.customer.name)
                    Text("\(job.pack.address.line1), \(job.pack.address.town) \(job.pack.address.postcode)")
                    if let notes = job.pack.notes { Text(notes).font(.footnote) }
                }
                Section("Now") {
                    Text(String(describing: job.state))
                    ForEach(model.warnings.indices, id: \.self) { i in WarningLine(warning: model.warnings[i]) }
                }
            }
            Section {
                ForEach(model.actions, id: \.self) { action in
                    Button(title(action)) {
                        Task { route = await model.perform(action, location: currentLocation()) }
                    }
                }
            }
            if let failure = model.failure { Text(failure.message).foregroundStyle(.red) }
        }
        .navigationTitle(model.jobRef)
        .task { await model.load() }
        .sheet(item: Binding(get: { route.map(RouteBox.init) }, set: { route = $0?.route })) { box in
            destination(box.route)
        }
    }

    @ViewBuilder
    private func destination(_ route: JobRoute) -> some View {
        switch route {
        case .scan: ScanView(core: core, jobRef: model.jobRef)
        case let .questions(journey): QuestionsView(core: core, jobRef: model.jobRef, journey: journey)
        case let .close(choices): ClosePicker(core: core, jobRef: model.jobRef, choices: choices)
        }
    }

    private func title(_ action: NextAction) -> String {
        switch action {
        case .accept: "Accept"
        case .startTravel: "On my way"
        case .arrive: "Arrived"
        case .scanOnt: "Scan the ONT"
        case .answerVisit: "Visit questions"
        case .close: "Close the job"
        }
    }
}

struct RouteBox: Identifiable {
    let route: JobRoute
    var id: String { String(describing: route) }
}

/// The closure code picker: the codes the core allows now, then the closure questions.
struct ClosePicker: View {
    let core: Jobpack
    let jobRef: String
    let choices: [ClosureChoice]
    @State private var code: ClosureChoice?
    @State private var secondary: String?

    var body: some View {
        NavigationStack {
            List(choices, id: \.code) { choice in
                NavigationLink {
                    QuestionsView(core: core, jobRef: jobRef, journey: .closure, closureCode: choice.code,
                                  secondaryCode: choice.secondaryRequired ? choice.secondary.first?.code : nil)
                } label: {
                    VStack(alignment: .leading) {
                        Text(choice.code).font(.headline)
                        Text(choice.description)
                    }
                }
            }
            .navigationTitle("Closure code")
        }
    }
}
#endif
