//! Cursor pagination shared by every list operation.

use serde::{Deserialize, Serialize};

/// Largest page any list returns, whatever the caller asks for.
pub const MAX_PAGE_SIZE: u32 = 200;
pub const DEFAULT_PAGE_SIZE: u32 = 50;

#[derive(Clone, Debug, Default)]
pub struct PageRequest {
    /// Opaque cursor from a previous page's `next_cursor` (the last id seen).
    pub after: Option<String>,
    pub limit: Option<u32>,
}

impl PageRequest {
    pub fn limit(&self) -> u32 {
        self.limit
            .unwrap_or(DEFAULT_PAGE_SIZE)
            .clamp(1, MAX_PAGE_SIZE)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}
