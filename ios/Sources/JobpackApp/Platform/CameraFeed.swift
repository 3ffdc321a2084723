// The camera for the scan screen: AVFoundation's video frames, biplanar YUV, whose luma plane
// (plane 0, with its row stride) goes to the scan view model as it is — the core decodes it.
// One frame is decoded at a time; frames arriving meanwhile are dropped, as are late ones.
// Compiled on iOS only (AVFoundation capture); the Linux tests feed the same `CameraFrame`s
// from a fixture.

#if canImport(AVFoundation) && os(iOS)
import AVFoundation
import Jobpack

public final class CameraFeed: NSObject, AVCaptureVideoDataOutputSampleBufferDelegate, @unchecked Sendable {
    public let session = AVCaptureSession()
    private let queue = DispatchQueue(label: "uk.jobpack.camera")
    private let model: ScanViewModel
    private let lock = NSLock()
    private var busy = false

    @MainActor
    public init(model: ScanViewModel) {
        self.model = model
        super.init()
    }

    /// Configures the back camera and starts it (call after camera permission was granted).
    public func start() throws {
        session.beginConfiguration()
        session.sessionPreset = .hd1280x720
        guard
            let camera = AVCaptureDevice.default(.builtInWideAngleCamera, for: .video, position: .back)
        else {
            session.commitConfiguration()
            throw JobpackError.invalidInput(reason: "no back camera")
        }
        let input = try AVCaptureDeviceInput(device: camera)
        if session.canAddInput(input) { session.addInput(input) }
        let output = AVCaptureVideoDataOutput()
        output.videoSettings = [
            kCVPixelBufferPixelFormatTypeKey as String: kCVPixelFormatType_420YpCbCr8BiPlanarFullRange,
        ]
        output.alwaysDiscardsLateVideoFrames = true
        output.setSampleBufferDelegate(self, queue: queue)
        if session.canAddOutput(output) { session.addOutput(output) }
        session.commitConfiguration()
        queue.async { [session] in session.startRunning() }
    }

    public func stop() {
        queue.async { [session] in session.stopRunning() }
    }

    public func captureOutput(_ output: AVCaptureOutput, didOutput sampleBuffer: CMSampleBuffer, from connection: AVCaptureConnection) {
        guard claim() else { return }
        guard let frame = Self.lumaFrame(sampleBuffer) else { return release() }
        Task { @MainActor [model] in
            await model.feed(frame)
            self.release()
        }
    }

    /// The luma plane of a biplanar buffer, copied with its stride. The back camera's sensor
    /// is landscape: a portrait screen needs a clockwise turn of 90 degrees.
    static func lumaFrame(_ sampleBuffer: CMSampleBuffer) -> CameraFrame? {
        guard let buffer = CMSampleBufferGetImageBuffer(sampleBuffer) else { return nil }
        CVPixelBufferLockBaseAddress(buffer, .readOnly)
        defer { CVPixelBufferUnlockBaseAddress(buffer, .readOnly) }
        guard CVPixelBufferGetPlaneCount(buffer) >= 1,
              let base = CVPixelBufferGetBaseAddressOfPlane(buffer, 0)
        else { return nil }
        let width = CVPixelBufferGetWidthOfPlane(buffer, 0)
        let height = CVPixelBufferGetHeightOfPlane(buffer, 0)
        let stride = CVPixelBufferGetBytesPerRowOfPlane(buffer, 0)
        let data = Data(bytes: base, count: stride * height)
        return CameraFrame(data: data, width: UInt32(width), height: UInt32(height), rowStride: UInt32(stride), format: .luma8, rotationDegrees: 90)
    }

    private func claim() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if busy { return false }
        busy = true
        return true
    }

    private func release() {
        lock.lock()
        busy = false
        lock.unlock()
    }
}
#endif
