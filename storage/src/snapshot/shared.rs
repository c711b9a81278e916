//! rkyv wrappers that archive the server's shared strings and byte slices (`Arc<str>`,
//! `Arc<[u8]>`) exactly as `String` and `Vec<u8>` would be archived. A snapshot being taken
//! then holds reference counts on the live tree's paths and data instead of a copy of them:
//! at a million znodes that copy was a quarter of a gigabyte of small allocations.

use rkyv::rancor::{Fallible, Source};
use rkyv::ser::{Allocator, Writer};
use rkyv::string::{ArchivedString, StringResolver};
use rkyv::vec::{ArchivedVec, VecResolver};
use rkyv::with::{ArchiveWith, DeserializeWith, SerializeWith};
use rkyv::Place;
use std::sync::Arc;

/// `Arc<str>` archived as a string.
#[derive(Debug)]
pub struct SharedStr;

impl ArchiveWith<Arc<str>> for SharedStr {
    type Archived = ArchivedString;
    type Resolver = StringResolver;

    fn resolve_with(field: &Arc<str>, resolver: StringResolver, out: Place<ArchivedString>) {
        ArchivedString::resolve_from_str(field, resolver, out);
    }
}

impl<S> SerializeWith<Arc<str>, S> for SharedStr
where
    S: Fallible + Writer + ?Sized,
    S::Error: Source,
{
    fn serialize_with(field: &Arc<str>, s: &mut S) -> Result<StringResolver, S::Error> {
        ArchivedString::serialize_from_str(field, s)
    }
}

impl<D: Fallible + ?Sized> DeserializeWith<ArchivedString, Arc<str>, D> for SharedStr {
    fn deserialize_with(field: &ArchivedString, _: &mut D) -> Result<Arc<str>, D::Error> {
        Ok(Arc::from(field.as_str()))
    }
}

/// `Arc<[u8]>` archived as a byte vector.
#[derive(Debug)]
pub struct SharedBytes;

impl ArchiveWith<Arc<[u8]>> for SharedBytes {
    type Archived = ArchivedVec<u8>;
    type Resolver = VecResolver;

    fn resolve_with(field: &Arc<[u8]>, resolver: VecResolver, out: Place<ArchivedVec<u8>>) {
        ArchivedVec::resolve_from_len(field.len(), resolver, out);
    }
}

impl<S> SerializeWith<Arc<[u8]>, S> for SharedBytes
where
    S: Fallible + Allocator + Writer + ?Sized,
{
    fn serialize_with(field: &Arc<[u8]>, s: &mut S) -> Result<VecResolver, S::Error> {
        ArchivedVec::<u8>::serialize_from_slice(field, s)
    }
}

impl<D: Fallible + ?Sized> DeserializeWith<ArchivedVec<u8>, Arc<[u8]>, D> for SharedBytes {
    fn deserialize_with(field: &ArchivedVec<u8>, _: &mut D) -> Result<Arc<[u8]>, D::Error> {
        Ok(Arc::from(field.as_slice()))
    }
}
