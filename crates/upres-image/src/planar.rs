/// How many bits each stored sample had. Values are kept as `f32` in the
/// integer range of that depth (0..=255 or 0..=65535) so that 8-bit math is
/// exact and MATLAB's uint8 rounding can be reproduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BitDepth {
    Eight,
    Sixteen,
}

impl BitDepth {
    pub fn max_value(self) -> f32 {
        match self {
            BitDepth::Eight => 255.0,
            BitDepth::Sixteen => 65535.0,
        }
    }
}

/// Which planes an image has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Layout {
    Gray,
    GrayAlpha,
    Rgb,
    Rgba,
}

impl Layout {
    pub fn channels(self) -> usize {
        match self {
            Layout::Gray => 1,
            Layout::GrayAlpha => 2,
            Layout::Rgb => 3,
            Layout::Rgba => 4,
        }
    }
    pub fn has_alpha(self) -> bool {
        matches!(self, Layout::GrayAlpha | Layout::Rgba)
    }
    pub fn is_gray(self) -> bool {
        matches!(self, Layout::Gray | Layout::GrayAlpha)
    }
    pub fn color_channels(self) -> usize {
        if self.is_gray() { 1 } else { 3 }
    }
}

/// One channel, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Plane {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

impl Plane {
    pub fn new(width: usize, height: usize, data: Vec<f32>) -> Self {
        assert_eq!(data.len(), width * height, "plane data does not match its size");
        Self { width, height, data }
    }
    pub fn zeros(width: usize, height: usize) -> Self {
        Self { width, height, data: vec![0.0; width * height] }
    }
    #[inline]
    pub fn get(&self, x: usize, y: usize) -> f32 {
        self.data[y * self.width + x]
    }
    /// The sub-rectangle `[x, x+w) x [y, y+h)`.
    pub fn crop(&self, x: usize, y: usize, w: usize, h: usize) -> Plane {
        assert!(x + w <= self.width && y + h <= self.height, "crop outside the plane");
        let mut data = Vec::with_capacity(w * h);
        for row in y..y + h {
            data.extend_from_slice(&self.data[row * self.width + x..row * self.width + x + w]);
        }
        Plane::new(w, h, data)
    }
    pub fn map(&self, f: impl Fn(f32) -> f32) -> Plane {
        Plane::new(self.width, self.height, self.data.iter().map(|&v| f(v)).collect())
    }
}

/// A decoded image as separate planes (R, G, B[, A] or Y[, A]).
#[derive(Debug, Clone, PartialEq)]
pub struct PlanarImage {
    pub width: usize,
    pub height: usize,
    pub layout: Layout,
    pub depth: BitDepth,
    pub planes: Vec<Plane>,
}

impl PlanarImage {
    pub fn new(layout: Layout, depth: BitDepth, planes: Vec<Plane>) -> Self {
        assert_eq!(planes.len(), layout.channels(), "plane count does not match the layout");
        let (width, height) = (planes[0].width, planes[0].height);
        assert!(planes.iter().all(|p| p.width == width && p.height == height), "planes differ in size");
        Self { width, height, layout, depth, planes }
    }

    /// Build from interleaved 8-bit samples (e.g. RGBA from a canvas).
    pub fn from_interleaved_u8(width: usize, height: usize, layout: Layout, samples: &[u8]) -> Self {
        let c = layout.channels();
        assert_eq!(samples.len(), width * height * c, "sample count does not match the size");
        let planes = (0..c).map(|ch| Plane::new(width, height, samples.iter().skip(ch).step_by(c).map(|&v| v as f32).collect())).collect();
        Self::new(layout, BitDepth::Eight, planes)
    }

    /// Interleaved 8-bit samples, rounding and clamping as MATLAB's uint8 cast does.
    pub fn to_interleaved_u8(&self) -> Vec<u8> {
        let scale = 255.0 / self.depth.max_value();
        let c = self.planes.len();
        let mut out = vec![0u8; self.width * self.height * c];
        for (ch, plane) in self.planes.iter().enumerate() {
            for (i, &v) in plane.data.iter().enumerate() {
                out[i * c + ch] = (v * scale).round().clamp(0.0, 255.0) as u8;
            }
        }
        out
    }

    pub fn color_planes(&self) -> &[Plane] {
        &self.planes[..self.layout.color_channels()]
    }
    pub fn alpha(&self) -> Option<&Plane> {
        if self.layout.has_alpha() { self.planes.last() } else { None }
    }

    /// The three colour planes, R=G=B for gray images.
    pub fn rgb_planes(&self) -> [Plane; 3] {
        if self.layout.is_gray() {
            [self.planes[0].clone(), self.planes[0].clone(), self.planes[0].clone()]
        } else {
            [self.planes[0].clone(), self.planes[1].clone(), self.planes[2].clone()]
        }
    }

    pub fn crop(&self, x: usize, y: usize, w: usize, h: usize) -> PlanarImage {
        PlanarImage::new(self.layout, self.depth, self.planes.iter().map(|p| p.crop(x, y, w, h)).collect())
    }

    /// Samples as 8-bit values (0..=255, still `f32`), the domain the papers work in.
    pub fn to_depth8(&self) -> PlanarImage {
        match self.depth {
            BitDepth::Eight => self.clone(),
            BitDepth::Sixteen => PlanarImage::new(self.layout, BitDepth::Eight, self.planes.iter().map(|p| p.map(|v| (v / 257.0).round())).collect()),
        }
    }
}
