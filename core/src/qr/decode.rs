//! Finding and reading QR codes in a frame.
//!
//! rqrr is the decoder of record: its Reed-Solomon correction and bit-stream decoding are
//! what we trust for the payload. Its *detection*, however, misses many real photos and
//! it can panic on unusual input (0.11 panics on some of the reference samples), so this
//! module does three things around it:
//!
//! * **Containment.** Every call into rqrr runs under `catch_unwind`; a panic becomes
//!   [`QrError::DecoderPanic`] for that attempt and the scan goes on. (This needs the
//!   default `panic = "unwind"`; a build with `panic = "abort"` would lose it.)
//! * **Strategies.** A frame is tried several ways, cheapest and most likely first:
//!   our own finder-pattern search and perspective sampling (see [`super::finder`]) on a
//!   locally thresholded image, then rqrr's detector on the same image, then other
//!   scales and a global threshold, then inverted colours. The first readable code wins.
//! * **Budget.** Each attempt checks a per-frame deadline, so a hard frame costs a bounded
//!   time and the camera keeps flowing; the next frame gets a fresh try.
//!
//! The scanner owns its working buffers and reuses them, so steady-state scanning does
//! not allocate image-sized buffers per frame (rqrr's detector still allocates
//! internally when that fallback runs).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Once;
use std::time::{Duration, Instant};

use super::binarize;
use super::finder;
use super::frame::{Frame, FrameError};
use super::payload;

/// Why a frame produced no payload.
#[derive(Debug, thiserror::Error)]
pub enum QrError {
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("no QR code found")]
    NotFound,
    #[error("a QR code was found but could not be read: {0}")]
    Unreadable(String),
    #[error("the QR decoder crashed on this image and was contained: {0}")]
    DecoderPanic(String),
}

/// One decoded symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The payload as text: UTF-8 when valid, otherwise read as ISO 8859-1 (the QR
    /// default for byte mode).
    pub text: String,
    /// The payload bytes exactly as the symbol holds them.
    pub bytes: Vec<u8>,
}

/// Tuning for [`Scanner`].
#[derive(Debug, Clone)]
pub struct ScannerConfig {
    /// Time after which no new strategy is started on the current frame.
    pub budget: Duration,
}

impl Default for ScannerConfig {
    fn default() -> Self {
        ScannerConfig {
            budget: Duration::from_millis(60),
        }
    }
}

/// What the last scan did, counted. Hostile frames (finder-pattern grids, noise, huge
/// images) are bounded by these counts in tests rather than by the clock; the benchmark
/// reports the time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanWork {
    /// Pixels of the frame copied into the working image (fewer than the frame's when
    /// a very large frame is decimated on the copy).
    pub pixels_copied: u64,
    /// Strategies started (binarisation + one detector).
    pub steps: u32,
    /// Pixels binarised over all steps.
    pub pixels_binarised: u64,
    /// Most finder-pattern candidates any one step found.
    pub finder_candidates: u32,
    /// Grid guesses sampled.
    pub guesses: u32,
    /// Grids handed to rqrr's decoder.
    pub decoder_calls: u32,
    /// Runs of rqrr's own detector, which cannot be interrupted.
    pub rqrr_detector_runs: u32,
    /// Runs of rqrr's detector skipped because the image had too many finder-like
    /// patterns (its grouping is cubic in them) or too little budget was left.
    pub rqrr_detector_skipped: u32,
    /// Whether the budget ran out before every strategy was tried.
    pub budget_spent: bool,
    /// Whether the code was read in the window an earlier frame pointed to.
    pub hinted: bool,
}

/// rqrr's detector tries every pair of neighbours of every finder-like pattern and copies
/// the whole image for each: on a label (three finders per code, a few codes) that is
/// cheap; on a frame tiled with finder-like squares it ran for minutes. Above this many
/// candidates in our own search of the same image, it is not run.
const RQRR_MAX_CANDIDATES: usize = 9;
/// Starting estimates of what a step costs per pixel of its image, before this scanner has
/// measured its own (it keeps a running average per detector, since the cost depends on
/// the device and the scene): a step is only started when its estimate fits in the
/// budget left, because neither binarising and searching an image nor rqrr's detector can
/// be stopped halfway.
const FINDER_NS_PER_PIXEL: f64 = 12.0;
const RQRR_NS_PER_PIXEL: f64 = 25.0;

/// Reusable QR scanner. Keep one per camera stream.
#[derive(Debug, Default)]
pub struct Scanner {
    config: ScannerConfig,
    gray: Vec<u8>,
    scaled: Vec<u8>,
    bin: Vec<u8>,
    blocks: Vec<u8>,
    finder: finder::Workspace,
    guesses: Vec<finder::GridGuess>,
    thresholds: binarize::ThresholdMap,
    acc: Vec<u32>,
    bits: Vec<bool>,
    last_decode: Option<Duration>,
    work: ScanWork,
    /// Codes read in this frame that the caller's filter turned down (a Wi-Fi code beside
    /// the ONT's): returned only if no wanted code turns up.
    rejected: Vec<Decoded>,
    /// Where the last frame's code was, and how it was read (see [`Hint`]).
    hint: Option<Hint>,
    /// Running averages of what a finder step and an rqrr detector run cost per pixel.
    cost_ns_per_pixel: Option<(f64, f64)>,
    /// Corners (in the searched image) of the guess that decoded last.
    last_corners: Option<[(f64, f64); 4]>,
    crop: Vec<u8>,
    mesh: finder::Mesh,
    drift: finder::Drift,
}

/// What an earlier frame of the stream told us: where the code was (full-resolution
/// pixels), at which scale and binarisation it read. While the engineer aims, the code
/// moves little from one frame to the next, so the next frame is first searched only in
/// a window around that place, at that scale: a fraction of the frame's pixels, and
/// finder candidates from the rest of the scene do not compete. A hint that fails three
/// frames in a row is dropped.
#[derive(Debug, Clone, Copy)]
struct Hint {
    frame: (usize, usize),
    region: (usize, usize, usize, usize),
    factor: usize,
    threshold: Threshold,
    inverted: bool,
    misses: u8,
}

/// Which decoded payloads the caller wants; the scan goes on past the others.
pub type Accept<'a> = &'a dyn Fn(&str) -> bool;

#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
enum Threshold {
    #[default]
    Local,
    Global,
}

impl Scanner {
    pub fn new(config: ScannerConfig) -> Self {
        Scanner {
            config,
            ..Scanner::default()
        }
    }

    /// Decodes the QR codes in a frame; returns texts only.
    pub fn scan(&mut self, frame: &Frame<'_>) -> Result<Vec<String>, QrError> {
        Ok(self
            .scan_decoded(frame)?
            .into_iter()
            .map(|d| d.text)
            .collect())
    }

    /// Time rqrr spent decoding the grid behind the last successful scan (format,
    /// Reed-Solomon, payload), without locating or sampling it. The benchmark reports
    /// it beside the whole scan's time: it is the floor any locator work sits on.
    pub fn last_decode_time(&self) -> Option<Duration> {
        self.last_decode
    }

    /// What the last scan did (see [`ScanWork`]).
    pub fn last_work(&self) -> ScanWork {
        self.work
    }

    /// Forgets what earlier frames told (see [`Hint`]): for a new stream, or between
    /// unrelated images.
    pub fn forget(&mut self) {
        self.hint = None;
    }

    /// Whether the last scan read its code in the window an earlier frame pointed to.
    pub fn last_used_hint(&self) -> bool {
        self.work.hinted
    }

    /// The per-frame budget.
    pub fn budget(&self) -> Duration {
        self.config.budget
    }

    /// Decodes the QR codes in a frame, with their raw bytes.
    pub fn scan_decoded(&mut self, frame: &Frame<'_>) -> Result<Vec<Decoded>, QrError> {
        self.scan_where(frame, &|_| true)
    }

    /// Like [`Self::scan_decoded`], but a code whose text `accept` turns down does not end
    /// the scan: the locator goes on to the other symbols in view (a label with the ONT's
    /// code beside a Wi-Fi code), within the same budget. The first accepted code is
    /// returned; when none is, the codes that were read are (so the caller can say what
    /// it saw).
    pub fn scan_where(
        &mut self,
        frame: &Frame<'_>,
        accept: Accept<'_>,
    ) -> Result<Vec<Decoded>, QrError> {
        self.last_decode = None;
        self.work = ScanWork::default();
        self.rejected.clear();
        let start = Instant::now();
        let deadline = start + self.config.budget;
        // A frame far larger than any step works on (a 48 MP still) is decimated while it
        // is copied: a full copy and then a box downscale of it cost more than a whole
        // frame's budget before the first budget check could run.
        let d = decimation(frame.upright_width(), frame.upright_height());
        if d > 1 {
            frame.copy_luma_decimated_into(d, &mut self.gray);
        } else {
            frame.copy_luma_into(&mut self.gray);
        }
        let (w, h) = (frame.upright_width() / d, frame.upright_height() / d);
        self.work.pixels_copied = (w * h) as u64;
        let mut gray = std::mem::take(&mut self.gray);
        let result = match self.try_hint(&gray, w, h, deadline, accept) {
            Some(found) => Ok(found),
            None => {
                let r = self.run_strategies(&gray, w, h, deadline, accept);
                if r.is_err()
                    && let Some(hint) = &mut self.hint
                {
                    hint.misses += 1;
                    if hint.misses >= 3 {
                        self.hint = None;
                    }
                }
                r
            }
        };
        std::mem::swap(&mut self.gray, &mut gray);
        result
    }

    /// Reads the window an earlier frame pointed to, at that frame's scale; `None` when
    /// there is no hint or nothing wanted was read there.
    fn try_hint(
        &mut self,
        gray: &[u8],
        w: usize,
        h: usize,
        deadline: Instant,
        accept: Accept<'_>,
    ) -> Option<Vec<Decoded>> {
        let hint = self.hint?;
        if hint.frame != (w, h) {
            self.hint = None;
            return None;
        }
        // The code's box grown by its own size each way: room for the hand to move.
        let (x0, y0, x1, y1) = hint.region;
        let grow = (x1 - x0).max(y1 - y0);
        let (cx0, cy0) = (x0.saturating_sub(grow), y0.saturating_sub(grow));
        let (cx1, cy1) = ((x1 + grow).min(w), (y1 + grow).min(h));
        let (cw, ch) = (cx1.saturating_sub(cx0), cy1.saturating_sub(cy0));
        let f = hint.factor.max(1);
        // Not worth it when the window is most of the frame, or too small for a symbol.
        if cw * ch * 4 > w * h * 3 || cw.min(ch) / f < 21 {
            return None;
        }
        let mut crop = std::mem::take(&mut self.crop);
        crop.clear();
        for y in cy0..cy1 {
            crop.extend_from_slice(&gray[y * w + cx0..y * w + cx1]);
        }
        let mut scaled = std::mem::take(&mut self.scaled);
        let (sw, sh) = if f > 1 {
            binarize::downscale(&crop, cw, ch, f, &mut scaled, &mut self.acc)
        } else {
            (cw, ch)
        };
        let src: &[u8] = if f > 1 { &scaled } else { &crop };
        self.binarize(src, sw, sh, hint.threshold);
        if hint.inverted {
            binarize::invert(&mut self.bin);
        }
        self.work.steps += 1;
        self.work.pixels_binarised += (sw * sh) as u64;
        let found = self.attempt_finder(src, hint.inverted, sw, sh, deadline, accept);
        self.crop = crop;
        self.scaled = scaled;
        let found = found
            .ok()
            .filter(|f| f.first().is_some_and(|d| accept(&d.text)))?;
        self.work.hinted = true;
        self.remember_place(w, h, (cx0, cy0), f, hint.threshold, hint.inverted);
        Some(found)
    }

    /// Records where the guess that just decoded lies, for the next frame.
    fn remember_place(
        &mut self,
        w: usize,
        h: usize,
        offset: (usize, usize),
        factor: usize,
        threshold: Threshold,
        inverted: bool,
    ) {
        let Some(corners) = self.last_corners.take() else {
            return;
        };
        let to_frame =
            |v: f64, off: usize, max: usize| ((v.max(0.0) * factor as f64) as usize + off).min(max);
        let xs = corners.map(|c| to_frame(c.0, offset.0, w));
        let ys = corners.map(|c| to_frame(c.1, offset.1, h));
        let (x0, x1) = (xs.iter().min().copied(), xs.iter().max().copied());
        let (y0, y1) = (ys.iter().min().copied(), ys.iter().max().copied());
        if let (Some(x0), Some(x1), Some(y0), Some(y1)) = (x0, x1, y0, y1)
            && x1 > x0
            && y1 > y0
        {
            self.hint = Some(Hint {
                frame: (w, h),
                region: (x0, y0, x1, y1),
                factor,
                threshold,
                inverted,
                misses: 0,
            });
        }
    }

    fn run_strategies(
        &mut self,
        gray: &[u8],
        w: usize,
        h: usize,
        deadline: Instant,
        accept: Accept<'_>,
    ) -> Result<Vec<Decoded>, QrError> {
        let mut last_err = QrError::NotFound;
        let start_total = Instant::now();
        let long = w.max(h);
        // Scales to try: a camera frame is downscaled so a code filling a fair part of it
        // is ~30-60 px per finder; small images are tried at full resolution first.
        let mut factors: Vec<usize> = Vec::with_capacity(4);
        let first = if long > 1600 {
            long / 800
        } else if long > 1100 {
            2
        } else {
            1
        };
        factors.push(first);
        if first != 1 {
            factors.push(1.max(first / 2));
        }
        if first == 1 && long > 500 {
            factors.push(2);
        }
        // Our locator first on each binarisation (cheap, and it reads most codes), then
        // rqrr's region-based detector (slower, but it finds some codes ours misses).
        let mut steps: Vec<(Threshold, bool, usize, Detector)> = Vec::with_capacity(24);
        let mut add = |t, inv, d| {
            for &f in &factors {
                steps.push((t, inv, f, d));
            }
        };
        // Ordered by how often each step is the one that reads a code (measured on the
        // reference samples and synthetic frames), cheapest first among equals. rqrr's
        // detector runs on the local-threshold image only: on the global and inverted
        // images it read nothing our locator did not, and each run costs 1-1.5 ms on a
        // 640 px frame, which every frame without a code pays.
        add(Threshold::Local, false, Detector::Finder);
        add(Threshold::Local, false, Detector::Rqrr);
        add(Threshold::Global, false, Detector::Finder);
        add(Threshold::Local, true, Detector::Finder);
        add(Threshold::Global, true, Detector::Finder);
        let mut current: Option<(Threshold, bool, usize)> = None;
        // Finder candidates our locator found on the local-threshold image, per scale.
        let mut local_candidates: Vec<(usize, usize)> = Vec::with_capacity(4);
        // (factor, size) of what `self.scaled` holds for this frame; 0 = nothing yet.
        let mut scaled_dims = (0usize, (0usize, 0usize));
        let (mut sw, mut sh) = (w, h);
        for (i, &(threshold, inverted, factor, detector)) in steps.iter().enumerate() {
            if i > 0 && Instant::now() > deadline {
                self.work.budget_spent = true;
                break;
            }
            // rqrr's detector cost grows steeply with image size and noise (it clones
            // the whole image per candidate grouping), so it only sees small images.
            if detector == Detector::Rqrr && w.max(h) / factor > 1000 {
                continue;
            }
            // No symbol fits (a version 1 code is 21 modules wide).
            if w.min(h) / factor < 21 {
                continue;
            }
            let (finder_ns, rqrr_ns) = self
                .cost_ns_per_pixel
                .unwrap_or((FINDER_NS_PER_PIXEL, RQRR_NS_PER_PIXEL));
            let pixels = ((w / factor) * (h / factor)) as f64;
            let fits =
                |ns: f64| Instant::now() + Duration::from_nanos((ns * pixels) as u64) <= deadline;
            if detector == Detector::Rqrr {
                let crowded = local_candidates
                    .iter()
                    .any(|&(f, n)| f == factor && n > RQRR_MAX_CANDIDATES);
                if crowded || !fits(rqrr_ns) {
                    self.work.rqrr_detector_skipped += 1;
                    continue;
                }
            } else if i > 0 && !fits(finder_ns) {
                // The first step always runs: every frame gets one try.
                self.work.budget_spent = true;
                continue;
            }
            self.work.steps += 1;
            let step_started = Instant::now();
            if current != Some((threshold, inverted, factor)) {
                (sw, sh) = if factor > 1 {
                    // Steps alternate between scales; downscale once per frame.
                    if scaled_dims.0 != factor {
                        let dims = binarize::downscale(
                            gray,
                            w,
                            h,
                            factor,
                            &mut self.scaled,
                            &mut self.acc,
                        );
                        scaled_dims = (factor, dims);
                    }
                    let scaled = std::mem::take(&mut self.scaled);
                    let dims = scaled_dims.1;
                    self.binarize(&scaled, dims.0, dims.1, threshold);
                    self.scaled = scaled;
                    dims
                } else {
                    self.binarize(gray, w, h, threshold);
                    (w, h)
                };
                if inverted {
                    binarize::invert(&mut self.bin);
                }
                self.work.pixels_binarised += (sw * sh) as u64;
                current = Some((threshold, inverted, factor));
            }
            let t_step = Instant::now();
            let result = match detector {
                Detector::Finder => {
                    let scaled = std::mem::take(&mut self.scaled);
                    let src = if factor > 1 { &scaled[..] } else { gray };
                    let r = self.attempt_finder(src, inverted, sw, sh, deadline, accept);
                    self.scaled = scaled;
                    let n = self.finder.candidate_count();
                    if threshold == Threshold::Local && !inverted {
                        local_candidates.push((factor, n));
                    }
                    self.work.finder_candidates = self.work.finder_candidates.max(n as u32);
                    r
                }
                Detector::Rqrr => {
                    self.work.rqrr_detector_runs += 1;
                    let mut decode_time = None;
                    let r = guarded(|| rqrr_detect(&self.bin, sw, sh, &mut decode_time));
                    self.last_decode = decode_time;
                    match r {
                        Ok(found) => {
                            let (wanted, other): (Vec<_>, Vec<_>) =
                                found.into_iter().partition(|d| accept(&d.text));
                            remember(&mut self.rejected, other);
                            if wanted.is_empty() {
                                Err(QrError::NotFound)
                            } else {
                                Ok(wanted)
                            }
                        }
                        Err(e) => Err(e),
                    }
                }
            };
            // Learn what a step costs here (the first frames' figures settle it).
            let ns = step_started.elapsed().as_nanos() as f64 / pixels.max(1.0);
            let (mut f_ns, mut r_ns) = self
                .cost_ns_per_pixel
                .unwrap_or((FINDER_NS_PER_PIXEL, RQRR_NS_PER_PIXEL));
            match detector {
                Detector::Finder => f_ns = 0.8 * f_ns + 0.2 * ns,
                Detector::Rqrr => r_ns = 0.8 * r_ns + 0.2 * ns,
            }
            self.cost_ns_per_pixel = Some((f_ns, r_ns));
            match result {
                Ok(found) => {
                    if detector == Detector::Finder {
                        self.remember_place(w, h, (0, 0), factor, threshold, inverted);
                    }
                    log::trace!(
                        "qr: step {i} {threshold:?} inv={inverted} f={factor} {detector:?}"
                    );
                    return Ok(found);
                }
                Err(e) => {
                    log::trace!(
                        "qr: step {i} {threshold:?} inv={inverted} f={factor} {detector:?} failed after {:?} (detect {:?})",
                        start_total.elapsed(),
                        t_step.elapsed()
                    );
                    last_err = prefer(last_err, e)
                }
            }
        }
        if !self.rejected.is_empty() {
            return Ok(std::mem::take(&mut self.rejected));
        }
        Err(last_err)
    }

    fn binarize(&mut self, gray: &[u8], w: usize, h: usize, threshold: Threshold) {
        match threshold {
            Threshold::Local => binarize::local_threshold(
                gray,
                w,
                h,
                &mut self.bin,
                &mut self.blocks,
                &mut self.thresholds,
            ),
            Threshold::Global => {
                self.bin.clear();
                self.bin.resize(w * h, 0);
                binarize::global_threshold(gray, &mut self.bin, &mut self.thresholds);
            }
        }
    }

    /// Our locator on the current binary image: plain guesses first, then nudged ones.
    ///
    /// A noisy frame with no code can yield dozens of finder-like triples, so guesses
    /// whose sampled finder and timing patterns are not a symbol's are dropped before
    /// the decoder (the costly part), and the deadline is checked before every guess
    /// but the first (a step only starts within the budget, so each frame tries one).
    fn attempt_finder(
        &mut self,
        gray: &[u8],
        inverted: bool,
        w: usize,
        h: usize,
        deadline: Instant,
        accept: Accept<'_>,
    ) -> Result<Vec<Decoded>, QrError> {
        let mut last = QrError::NotFound;
        let mut tried = false;
        let plans = finder::locate(&self.bin, w, h, &mut self.finder);
        let src = finder::Source {
            gray,
            thresholds: &self.thresholds,
            inverted,
            w,
            h,
        };
        let mut drift_from = None;
        // Plans are expanded one at a time (the first usually decodes, and expanding,
        // the alignment-pattern and edge search, is the costly part of locating); the
        // nudged fourth corners come last.
        for plan in (0..plans).map(Some).chain([None]) {
            match plan {
                Some(i) => finder::expand(&self.bin, w, h, &self.finder, i, &mut self.guesses),
                None => finder::nudged(&self.bin, w, h, &self.finder, &mut self.guesses),
            }
            let mut other_code = false;
            // The first guess whose finder and timing patterns read: where a second,
            // finer look starts if no guess decodes.
            let mut plausible = None;
            for &guess in &self.guesses {
                if tried && Instant::now() > deadline {
                    self.work.budget_spent = true;
                    return Err(last);
                }
                tried = true;
                self.work.guesses += 1;
                let sampler = finder::SampledGrid::new(guess, src);
                if !sampler.has_function_patterns() {
                    // Not a symbol where it was looked for: as far as this guess goes,
                    // no code was found.
                    continue;
                }
                plausible = plausible.or(Some(guess));
                if let Some(i) = plan {
                    self.finder.mark_plausible(i);
                }
                let read = read_sampled(&sampler, &mut self.bits, &mut self.work, accept);
                match read {
                    Ok(Read::Wanted(d, took)) => {
                        self.last_decode = Some(took);
                        self.last_corners = Some(guess.corners());
                        return Ok(vec![d]);
                    }
                    // Another code than the one wanted: this plan is done, try the next.
                    Ok(Read::Other(d)) => {
                        remember(&mut self.rejected, vec![d]);
                        other_code = true;
                        break;
                    }
                    Err(e) => last = prefer(last, e),
                }
            }
            if plan.is_none() || other_code {
                continue;
            }
            // A large symbol none of whose guesses read: sample it again cell by cell
            // through its alignment patterns (a curved label, see [`finder::Mesh`]),
            // from the plan's best guess (the first: through the bottom-right pattern).
            if let Some(guess) = self.guesses.first().copied()
                && guess.size >= 45
                && !(tried && Instant::now() > deadline)
                && self.mesh.build(&self.bin, w, h, &guess)
            {
                tried = true;
                self.work.guesses += 1;
                let sampler = finder::SampledGrid::with_mesh(guess, src, &self.mesh);
                if sampler.has_function_patterns() {
                    match read_sampled(&sampler, &mut self.bits, &mut self.work, accept) {
                        Ok(Read::Wanted(d, took)) => {
                            self.last_decode = Some(took);
                            self.last_corners = Some(guess.corners());
                            return Ok(vec![d]);
                        }
                        Ok(Read::Other(d)) => {
                            remember(&mut self.rejected, vec![d]);
                            continue;
                        }
                        Err(e) => last = prefer(last, e),
                    }
                }
            }
            // Where a second, finer look starts if nothing else reads.
            drift_from = drift_from.or(plausible);
        }
        // A symbol that is there (its function patterns read) but whose modules wander
        // off every plane and every nudge: a crumpled or bent label (see
        // [`finder::Drift`]). Last, as it costs a few milliseconds.
        if let Some(guess) = drift_from
            && !(tried && Instant::now() > deadline)
            && self.drift.build(&src, &guess)
        {
            self.work.guesses += 1;
            let sampler = finder::SampledGrid::with_drift(guess, src, &self.drift);
            match read_sampled(&sampler, &mut self.bits, &mut self.work, accept) {
                Ok(Read::Wanted(d, took)) => {
                    self.last_decode = Some(took);
                    self.last_corners = Some(guess.corners());
                    return Ok(vec![d]);
                }
                Ok(Read::Other(d)) => remember(&mut self.rejected, vec![d]),
                Err(e) => last = prefer(last, e),
            }
        }
        Err(last)
    }
}

/// What a sampled grid read as.
enum Read {
    /// A code the caller wants, and the time rqrr took to decode it.
    Wanted(Decoded, Duration),
    /// A code, but not one the caller wants.
    Other(Decoded),
}

/// Samples every module of `sampler` and hands the grid to rqrr's decoder.
fn read_sampled(
    sampler: &finder::SampledGrid<'_>,
    bits: &mut Vec<bool>,
    work: &mut ScanWork,
    accept: Accept<'_>,
) -> Result<Read, QrError> {
    let grid = sampler.sample_into(bits);
    let started = Instant::now();
    work.decoder_calls += 1;
    let d = guarded(|| decode_grid(&grid))?;
    Ok(if accept(&d.text) {
        Read::Wanted(d, started.elapsed())
    } else {
        Read::Other(d)
    })
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Detector {
    Finder,
    Rqrr,
}

/// Frames above this many pixels are decimated on the copy (see [`decimation`]).
const DECIMATE_ABOVE: usize = 16_000_000;

/// One pixel in how many (each way) a frame of `w` x `h` keeps: 1 up to
/// [`DECIMATE_ABOVE`] pixels (12 MP phone stills are read whole), then the least factor
/// that brings it to at most 12 MP. A code in such a frame spans thousands of pixels, so
/// it keeps several pixels per module, and the first step downscales further anyway.
fn decimation(w: usize, h: usize) -> usize {
    let pixels = w.saturating_mul(h);
    if pixels <= DECIMATE_ABOVE {
        return 1;
    }
    let mut d = 2;
    while pixels / (d * d) > 12_000_000 {
        d += 1;
    }
    d
}

/// Adds codes the caller turned down, once each.
fn remember(list: &mut Vec<Decoded>, found: Vec<Decoded>) {
    for d in found {
        if !list.contains(&d) {
            list.push(d);
        }
    }
}

/// Keeps the more informative of two failures ("found but unreadable" beats "not found").
fn prefer(a: QrError, b: QrError) -> QrError {
    match (&a, &b) {
        (QrError::NotFound, _) => b,
        (_, QrError::NotFound) => a,
        (QrError::DecoderPanic(_), QrError::Unreadable(_)) => b,
        _ => a,
    }
}

/// Payload bytes to text. QR byte mode has no reliable charset marker in practice, so
/// like other readers we guess: UTF-8 when valid, then Shift_JIS (Japanese codes, and
/// what rqrr emits for kanji mode) when it decodes cleanly with at least one multi-byte
/// character, else ISO 8859-1, the standard's default. The Shift_JIS step is the
/// `cjk-text` feature (on by default, off in the phone library, whose ONT labels are
/// ASCII).
fn to_text(bytes: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return s.to_owned();
    }
    #[cfg(feature = "cjk-text")]
    {
        let (text, had_errors) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(bytes);
        if !had_errors && !text.is_ascii() && !looks_latin1(bytes) {
            return text.into_owned();
        }
    }
    bytes.iter().map(|&b| b as char).collect()
}

/// Latin-1 text is mostly ASCII with isolated accented letters (0xC0-0xFF) each
/// followed by ASCII; Shift_JIS uses lead bytes followed by trail bytes >= 0x40.
#[cfg(feature = "cjk-text")]
fn looks_latin1(bytes: &[u8]) -> bool {
    let high = bytes.iter().filter(|&&b| b >= 0x80).count();
    let isolated = bytes
        .windows(2)
        .filter(|w| w[0] >= 0xC0 && w[1] < 0x80 && w[1].is_ascii_alphabetic())
        .count();
    high > 0 && isolated * 2 >= high
}

fn decode_grid<G: rqrr::BitGrid>(grid: &G) -> Result<Decoded, QrError> {
    let mut bytes = Vec::new();
    match rqrr::Grid::new(payload::GridRef(grid)).decode_to(&mut bytes) {
        Ok(_) => {}
        // Corrected, but in a mode rqrr does not decode (FNC1, structured append).
        Err(rqrr::DeQRError::UnknownDataType) => {
            bytes = payload::decode_all_modes(grid)
                .ok_or_else(|| QrError::Unreadable(rqrr::DeQRError::UnknownDataType.to_string()))?;
        }
        Err(e) => return Err(QrError::Unreadable(e.to_string())),
    }
    Ok(Decoded {
        text: to_text(&bytes),
        bytes,
    })
}

/// rqrr's detector over our binary image.
fn rqrr_detect(
    bin: &[u8],
    w: usize,
    h: usize,
    decode_time: &mut Option<Duration>,
) -> Result<Vec<Decoded>, QrError> {
    let mut img = rqrr::PreparedImage::prepare_from_bitmap(w, h, |x, y| bin[y * w + x] != 0);
    let grids = img.detect_grids();
    let mut out = Vec::new();
    let mut last = QrError::NotFound;
    for g in &grids {
        let started = Instant::now();
        match decode_grid(&g.grid) {
            Ok(d) => {
                *decode_time.get_or_insert(Duration::ZERO) += started.elapsed();
                out.push(d);
            }
            Err(e) => last = e,
        }
    }
    if out.is_empty() { Err(last) } else { Ok(out) }
}

thread_local! {
    static IN_GUARD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, turning a panic into [`QrError::DecoderPanic`].
///
/// A panic hook is chained in once so contained panics do not spray backtraces on
/// stderr; panics anywhere else still reach the previous hook unchanged.
pub(crate) fn guarded<T>(f: impl FnOnce() -> Result<T, QrError>) -> Result<T, QrError> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_GUARD.with(|g| g.get()) {
                previous(info);
            }
        }));
    });
    IN_GUARD.with(|g| g.set(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    IN_GUARD.with(|g| g.set(false));
    match result {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(QrError::DecoderPanic(msg))
        }
    }
}
