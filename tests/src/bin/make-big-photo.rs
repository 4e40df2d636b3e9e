//! `make-big-photo OUT.jpg WIDTH HEIGHT [X Y SIDE CROP.png]`: a photo-sized
//! JPEG (smooth colour, fine texture, sharp edges: what a camera gives a
//! network to work on), made here and not downloaded; with a crop, also the
//! square at X, Y of its decoded pixels as a PNG, for comparing a region of a
//! big upscale with `trainer upscale` of the region alone.

use std::path::Path;
use std::process::exit;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize| -> usize {
        args.get(i).and_then(|v| v.parse().ok()).unwrap_or_else(|| {
            eprintln!("usage: make-big-photo OUT.jpg WIDTH HEIGHT [X Y SIDE CROP.png]");
            exit(2)
        })
    };
    let (width, height) = (number(1), number(2));
    let jpeg = upres_tests::big_photo::jpeg(width, height);
    std::fs::write(&args[0], &jpeg).unwrap_or_else(|e| {
        eprintln!("cannot write {}: {e}", args[0]);
        exit(1)
    });
    if args.len() == 7 {
        let png = upres_tests::big_photo::decoded_crop_png(&jpeg, number(3), number(4), number(5));
        std::fs::write(Path::new(&args[6]), png).expect("write the crop");
    }
    eprintln!("{width}x{height}: {} bytes in {}", jpeg.len(), args[0]);
}
