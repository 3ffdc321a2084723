// A small closure matrix for the tests: one visit question, and at closure a light level that
// branches, a question that needs a photo, and the customer's sign-off.

public enum Matrix {
    public static let json = """
    {
      "name": "swift tests", "version": "1", "isDefault": false,
      "questions": [
        {"code": "1100", "text": "Did Sponge Pass?", "answer": {"type": "yesNo"}},
        {"code": "2000", "text": "Optical light level at the ONT",
         "answer": {"type": "number", "unit": "dBm", "min": -40, "max": 5, "decimals": 2}},
        {"code": "2010", "text": "The light level is out of range: what was done?",
         "answer": {"type": "singleChoice", "choices": ["Cleaned the connectors", "Escalated"]}},
        {"code": "2100", "text": "Is the ONT mounted and labelled?", "answer": {"type": "yesNo"},
         "minPhotos": 1, "photoHint": "the ONT on the wall"},
        {"code": "2400", "text": "Customer sign-off: name of the person who signed",
         "answer": {"type": "text", "maxLength": 100}}
      ],
      "flows": [
        {"id": "visit", "journey": "visit", "steps": [{"question": "1100"}]},
        {"id": "close", "journey": "closure", "steps": [
          {"question": "2000", "next": [{"when": {"answer": "2000", "atLeast": -27, "atMost": -8}, "goto": "2100"}]},
          {"question": "2010"},
          {"question": "2100"},
          {"question": "2400"}
        ]}
      ]
    }
    """
}
