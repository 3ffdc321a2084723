#if canImport(SwiftUI)
import Jobpack
import SwiftUI

/// The question flow: answered questions, the current one with its input, and the checklist.
public struct QuestionsView: View {
    @State private var model: QuestionsViewModel
    @State private var text = ""
    @State private var description = ""

    public init(core: Jobpack, jobRef: String, journey: Journey, closureCode: String? = nil, secondaryCode: String? = nil) {
        _model = State(initialValue: QuestionsViewModel(core: core, jobRef: jobRef, journey: journey,
                                                        closureCode: closureCode, secondaryCode: secondaryCode))
    }

    public var body: some View {
        Form {
            Section("Answered") {
                ForEach(model.answered, id: \.code) { question in
                    VStack(alignment: .leading) {
                        Text(question.text).font(.footnote)
                        Text(question.answer ?? "").font(.headline)
                        if question.minPhotos > 0 { Text("\(question.photos.count) photo(s)").font(.caption) }
                    }
                }
            }
            if let question = model.current {
                Section(question.text) {
                    input(for: question)
                    if let problem = model.answerProblem { Text(problem).foregroundStyle(.red) }
                    Text(question.expects).font(.caption).foregroundStyle(.secondary)
                }
            }
            if !model.checklist.isEmpty {
                Section("Still missing") {
                    ForEach(model.checklist.indices, id: \.self) { i in Text(model.checklist[i].text) }
                }
            }
            Section {
                if model.journey == .closure { TextField("Description", text: $description) }
                Button(model.journey == .visit ? "Send answers" : "Close the job") {
                    Task { await model.send(description: description) }
                }
                if let sent = model.sent { Text("Saved: \(String(describing: sent.state))") }
            }
            if let failure = model.failure { Text(failure.message).foregroundStyle(.red) }
        }
        .task { await model.load() }
    }

    @ViewBuilder
    private func input(for question: Question) -> some View {
        switch question.answerType {
        case .yesNo:
            HStack {
                Button("Yes") { Task { await model.answer("Yes") } }
                Button("No") { Task { await model.answer("No") } }
            }
        case let .singleChoice(choices):
            ForEach(choices, id: \.self) { choice in Button(choice) { Task { await model.answer(choice) } } }
        case .multipleChoice, .number, .text, .time, .date:
            TextField("Answer", text: $text)
            Button("Save") { Task { await model.answer(text); text = "" } }
        }
    }
}
#endif
