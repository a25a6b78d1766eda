//! Real PNG images for uploads, made with the `png` crate.

/// A `width`×`height` 8-bit RGB PNG (a colour gradient) that carries `padding` more bytes
/// of text in a `tEXt` chunk, so a test can make a valid image of about the size it needs:
/// the result is `padding` bytes longer than the unpadded image plus the chunk's own
/// overhead.
pub fn png(width: u32, height: u32, padding: usize) -> Vec<u8> {
    let mut pixels = Vec::with_capacity(width as usize * height as usize * 3);
    for y in 0..height {
        for x in 0..width {
            pixels.extend([(x * 255 / width) as u8, (y * 255 / height) as u8, 160]);
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    if padding > 0 {
        let filler = "signpost test padding "
            .chars()
            .cycle()
            .take(padding)
            .collect();
        encoder
            .add_text_chunk("Comment".into(), filler)
            .expect("tEXt chunk");
    }
    let mut writer = encoder.write_header().expect("PNG header");
    writer.write_image_data(&pixels).expect("PNG pixels");
    writer.finish().expect("PNG end");
    out
}
