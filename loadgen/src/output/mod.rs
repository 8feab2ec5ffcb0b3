//! What a person or a tool reads: [`table`] the text table; `hgrm` HdrHistogram's percentile
//! table; `hlog` the interval log; [`html`] the page, whose charts `svg` draws.

pub mod hgrm;
pub mod hlog;
pub mod html;
pub(crate) mod svg;
pub mod table;
