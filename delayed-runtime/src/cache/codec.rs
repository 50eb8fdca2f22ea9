//! How a cached task's result is written to and read from disk.
//!
//! Results are type-erased in the graph, so a `#[delayed(cache)]` function's node carries
//! a [`Codec`]: two plain `fn` pointers, made for its result type by
//! [`Call::cached`](crate::private::Call::cached). Other nodes carry none, so the serde
//! bounds apply only to functions that opted in.

use crate::value::AnyValue;

/// Encodes and decodes one result type (postcard, a compact and well-kept serde format).
pub struct Codec {
    /// The value (an `Arc<R>` behind `dyn Any`) → bytes.
    #[cfg_attr(not(feature = "cache"), allow(dead_code))]
    pub(crate) encode: fn(&AnyValue) -> Result<Vec<u8>, String>,
    /// Bytes → the value.
    #[cfg_attr(not(feature = "cache"), allow(dead_code))]
    pub(crate) decode: fn(&[u8]) -> Result<AnyValue, String>,
    /// The result type's name, for messages.
    #[cfg_attr(not(feature = "cache"), allow(dead_code))]
    pub(crate) type_name: fn() -> &'static str,
}

/// A result type that a [`Cache`](crate::Cache) can keep: `serde::Serialize +
/// serde::de::DeserializeOwned` (and, like every graph value, `Send + Sync + 'static`).
///
/// `#[delayed(cache)]` requires it of the function's result (the `T` of a `Result<T, E>`).
#[cfg(feature = "cache")]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be kept in the on-disk cache: it must implement `serde::Serialize` and `serde::Deserialize`",
    label = "the result of a `#[delayed(cache)]` function",
    note = "derive them with `#[derive(serde::Serialize, serde::Deserialize)]` (serde's `derive` feature), or remove `cache` from `#[delayed(cache)]`"
)]
pub trait Cacheable:
    serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static
{
}

#[cfg(feature = "cache")]
impl<T: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static> Cacheable for T {}

/// A result type that a cache can keep. This build has no cache: enable the `cache`
/// feature of `delayed` (on by default) to use `#[delayed(cache)]`.
#[cfg(not(feature = "cache"))]
#[diagnostic::on_unimplemented(
    message = "`#[delayed(cache)]` needs the `cache` feature of `delayed`",
    label = "the result of a `#[delayed(cache)]` function",
    note = "enable it in Cargo.toml (`delayed = {{ version = \"…\", features = [\"cache\"] }}`; it is on by default), or remove `cache` from `#[delayed(cache)]`"
)]
pub trait Cacheable: Send + Sync + 'static {}

struct CodecOf<R>(std::marker::PhantomData<R>);

impl<R: Cacheable> CodecOf<R> {
    const CODEC: Codec = Codec {
        #[cfg(feature = "cache")]
        encode: encode::<R>,
        #[cfg(not(feature = "cache"))]
        encode: no_cache_encode,
        #[cfg(feature = "cache")]
        decode: decode::<R>,
        #[cfg(not(feature = "cache"))]
        decode: no_cache_decode,
        type_name: std::any::type_name::<R>,
    };
}

/// The codec of `R`, as a `'static` reference (one promoted constant per type).
pub(crate) fn codec_of<R: Cacheable>() -> &'static Codec {
    &CodecOf::<R>::CODEC
}

#[cfg(feature = "cache")]
fn encode<R: Cacheable>(value: &AnyValue) -> Result<Vec<u8>, String> {
    let value = value.downcast_ref::<R>().ok_or_else(|| {
        format!(
            "internal error: the result is not a `{}`",
            std::any::type_name::<R>()
        )
    })?;
    postcard::to_allocvec(value).map_err(|e| e.to_string())
}

#[cfg(feature = "cache")]
fn decode<R: Cacheable>(bytes: &[u8]) -> Result<AnyValue, String> {
    let (value, rest) = postcard::take_from_bytes::<R>(bytes).map_err(|e| e.to_string())?;
    if !rest.is_empty() {
        return Err(format!("{} bytes left over after the value", rest.len()));
    }
    Ok(std::sync::Arc::new(value))
}

#[cfg(not(feature = "cache"))]
fn no_cache_encode(_: &AnyValue) -> Result<Vec<u8>, String> {
    Err("this build has no cache".into())
}

#[cfg(not(feature = "cache"))]
fn no_cache_decode(_: &[u8]) -> Result<AnyValue, String> {
    Err("this build has no cache".into())
}

#[cfg(all(test, feature = "cache"))]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn round_trips_and_rejects_other_bytes() {
        let codec = codec_of::<Vec<u8>>();
        let value: AnyValue = Arc::new(vec![1u8, 2, 3, 255]);
        let bytes = (codec.encode)(&value).unwrap();
        // Bytes are written as they are, after a one-byte length.
        assert_eq!(bytes, [4, 1, 2, 3, 255]);
        let back = (codec.decode)(&bytes).unwrap();
        assert_eq!(back.downcast_ref::<Vec<u8>>(), Some(&vec![1u8, 2, 3, 255]));
        assert!((codec.decode)(&bytes[..3]).is_err(), "truncated");
        assert!(
            (codec.decode)(&[bytes.as_slice(), &[0]].concat()).is_err(),
            "trailing"
        );
        assert_eq!((codec.type_name)(), "alloc::vec::Vec<u8>");
        let wrong: AnyValue = Arc::new(1u32);
        assert!((codec.encode)(&wrong).is_err());
        assert!(std::ptr::eq(codec, codec_of::<Vec<u8>>()));
    }
}
