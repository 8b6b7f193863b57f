//! Exchange with the outside: zip archives read without trusting them, and catalogues under readable names or
//! the national codes. No I/O beyond the bytes handed in; no store or service types.

pub mod bagit;
pub mod catalogue;
pub mod zipsafe;
