//! Text metrics and glyphs from the bundled font, DejaVu Sans reduced to Latin-1 (see
//! `assets/DejaVu-LICENSE.txt`). Layout measures labels with it and PNG output draws its
//! glyph outlines, so no system font is needed; SVG output names the same family.

use std::sync::OnceLock;

use ttf_parser::{Face, GlyphId};

/// The font file, 27 kB.
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans-Latin1.ttf");

/// The family name SVG output asks for, with fallbacks of similar width.
pub(crate) const FAMILY: &str = "DejaVu Sans, Verdana, Bitstream Vera Sans, sans-serif";

/// The label size, in SVG units.
pub(crate) const SIZE: f32 = 14.0;

fn face() -> Option<&'static Face<'static>> {
    static FACE: OnceLock<Option<Face<'static>>> = OnceLock::new();
    FACE.get_or_init(|| Face::parse(FONT, 0).ok()).as_ref()
}

/// A glyph placed on a line: the glyph and its left edge, in font units from the start.
pub(crate) struct Placed {
    pub(crate) glyph: GlyphId,
    pub(crate) x: f32,
}

/// The glyphs of `text` and the advance of the whole line, in font units. Characters the
/// font lacks are drawn as `?`.
pub(crate) fn shape(text: &str) -> (Vec<Placed>, f32) {
    let Some(face) = face() else {
        return (Vec::new(), text.chars().count() as f32 * 0.6 * 2048.0);
    };
    let fallback = face.glyph_index('?').unwrap_or(GlyphId(0));
    let mut x = 0.0;
    let mut glyphs = Vec::with_capacity(text.len());
    for c in text.chars() {
        let glyph = face.glyph_index(c).unwrap_or(fallback);
        glyphs.push(Placed { glyph, x });
        x += f32::from(face.glyph_hor_advance(glyph).unwrap_or(0));
    }
    (glyphs, x)
}

/// Font units per em (2048 for DejaVu Sans).
pub(crate) fn units_per_em() -> f32 {
    face().map_or(2048.0, |f| f32::from(f.units_per_em()))
}

/// The width of `text` at `size`.
pub(crate) fn text_width(text: &str, size: f32) -> f32 {
    shape(text).1 * size / units_per_em()
}

/// From the vertical center of a label to its baseline, at `size`: half the capital
/// height, so capitals and digits look centered.
pub(crate) fn baseline_offset(size: f32) -> f32 {
    let cap = face()
        .and_then(|f| f.capital_height())
        .map_or(0.73, |c| f32::from(c) / units_per_em());
    cap * size / 2.0
}

/// Outlines one glyph into `builder`, in font units (y up).
pub(crate) fn outline(glyph: GlyphId, builder: &mut dyn ttf_parser::OutlineBuilder) {
    if let Some(face) = face() {
        face.outline_glyph(glyph, builder);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_font_parses_and_measures() {
        assert!(face().is_some());
        assert_eq!(units_per_em(), 2048.0);
        let w = text_width("make_sample", SIZE);
        assert!((70.0..110.0).contains(&w), "{w}");
        assert!(text_width("mm", SIZE) > text_width("ii", SIZE));
        assert!((4.0..6.0).contains(&baseline_offset(SIZE)));
    }

    #[test]
    fn missing_characters_fall_back() {
        let (glyphs, width) = shape("a中b");
        assert_eq!(glyphs.len(), 3);
        assert!(width > 0.0);
        struct Count(usize);
        impl ttf_parser::OutlineBuilder for Count {
            fn move_to(&mut self, _: f32, _: f32) {
                self.0 += 1;
            }
            fn line_to(&mut self, _: f32, _: f32) {}
            fn quad_to(&mut self, _: f32, _: f32, _: f32, _: f32) {}
            fn curve_to(&mut self, _: f32, _: f32, _: f32, _: f32, _: f32, _: f32) {}
            fn close(&mut self) {}
        }
        let mut count = Count(0);
        outline(glyphs[1].glyph, &mut count); // `?`: one contour and the dot
        assert_eq!(count.0, 2);
    }
}
