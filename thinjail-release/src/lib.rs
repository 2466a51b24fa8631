//! FreeBSD release archives: release names and URLs, the `MANIFEST`, verified downloads,
//! extraction of `base.txz`, and the template/skeleton split of the thin-jail recipe.
