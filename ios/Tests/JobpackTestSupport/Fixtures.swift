// The ONT label fixture (bindings/tests/fixtures/ont-label.png) as camera frames and as a
// photo. Foundation on Linux decodes no PNG, so the luma plane is committed beside this file as
// a binary PGM (Fixtures/make_luma.py makes it from the PNG).

import Foundation
import Jobpack

public enum Fixtures {
    static let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()

    /// The label as a camera's luma plane (what AVFoundation's biplanar buffers give).
    public static func labelFrame() throws -> CameraFrame {
        let (width, height, luma) = try labelLuma()
        return CameraFrame(data: luma, width: UInt32(width), height: UInt32(height), rowStride: UInt32(width), format: .luma8, rotationDegrees: 0)
    }

    /// The label as a sensor mounted 90 degrees off delivers it: stored rotated
    /// counter-clockwise (a clockwise turn of 90 brings it upright), rows padded.
    public static func rotatedLabelFrame(stridePadding: Int = 16) throws -> CameraFrame {
        let (width, height, luma) = try labelLuma()
        let storedWidth = height, storedHeight = width
        let stride = storedWidth + stridePadding
        let source = [UInt8](luma)
        var data = [UInt8](repeating: 0, count: stride * storedHeight)
        for y in 0..<storedHeight {
            for x in 0..<storedWidth {
                // Stored pixel (x, y) shows upright pixel (width-1-y, x).
                data[y * stride + x] = source[x * width + (width - 1 - y)]
            }
        }
        return CameraFrame(data: Data(data), width: UInt32(storedWidth), height: UInt32(storedHeight), rowStride: UInt32(stride), format: .luma8, rotationDegrees: 90)
    }

    /// The label PNG's bytes, as the camera's photo of the installed ONT.
    public static func labelPhoto() throws -> Data {
        let png = here.appendingPathComponent("../../../bindings/tests/fixtures/ont-label.png").standardizedFileURL
        return try Data(contentsOf: png)
    }

    static func labelLuma() throws -> (Int, Int, Data) {
        let file = try Data(contentsOf: here.appendingPathComponent("Fixtures/ont-label.pgm"))
        // "P5\n<width> <height>\n255\n" then width × height bytes.
        var fields: [String] = []
        var index = file.startIndex
        var field = ""
        while fields.count < 4, index < file.endIndex {
            let byte = file[index]
            index += 1
            if byte == 0x0A || byte == 0x20 {
                if !field.isEmpty { fields.append(field) }
                field = ""
            } else {
                field.append(Character(UnicodeScalar(byte)))
            }
        }
        guard fields.count == 4, fields[0] == "P5", let width = Int(fields[1]), let height = Int(fields[2]),
              file.endIndex - index == width * height
        else {
            throw TestSetupError.missing("a binary PGM at Fixtures/ont-label.pgm")
        }
        return (width, height, Data(file[index...]))
    }
}
