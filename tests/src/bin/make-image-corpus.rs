//! `make-image-corpus DIR`: write the image corpus (and `corpus.json`) for
//! the Node and Chromium tests, which compare their output on each file with
//! `trainer upscale`'s.

fn main() {
    let Some(dir) = std::env::args_os().nth(1) else {
        eprintln!("usage: make-image-corpus DIR");
        std::process::exit(2);
    };
    let files = upres_tests::corpus::write_corpus(std::path::Path::new(&dir));
    eprintln!("{} files in {}", files.len(), std::path::Path::new(&dir).display());
}
