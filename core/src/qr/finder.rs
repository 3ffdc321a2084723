//! Finder-pattern search and perspective sampling (stub).

#[derive(Debug, Default)]
pub struct Workspace {}

pub struct SampledGrid {
    size: usize,
    bits: Vec<bool>,
}

impl rqrr::BitGrid for SampledGrid {
    fn size(&self) -> usize {
        self.size
    }
    fn bit(&self, y: usize, x: usize) -> bool {
        self.bits[y * self.size + x]
    }
}

pub fn locate(_bin: &[u8], _w: usize, _h: usize, _ws: &mut Workspace) -> Vec<SampledGrid> {
    Vec::new()
}
