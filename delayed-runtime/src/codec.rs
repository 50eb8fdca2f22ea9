//! The value codec: how a type-erased result becomes bytes and back, for the on-disk
//! cache and for values that cross to a cluster's workers.
//!
//! Results are type-erased in the graph, so a node that may be cached or sent carries a
//! [`Codec`]: plain `fn` pointers made for its type (postcard, through serde). A
//! `#[delayed(cache)]` function's node gets one from `Call::cached`; generated code
//! finds the codecs of a function's inputs and result by probing their types
//! ([`Probe`]): serde types get postcard, a few known types a codec of this crate, any
//! other none. Nodes without a codec stay in their process, so serde bounds apply only
//! where they are needed.

use std::any::TypeId;
use std::marker::PhantomData;

use crate::erased::AnyValue;

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
    /// The type's id, to find the codec by a value's type ([`of_type`]).
    #[cfg_attr(not(feature = "dask"), allow(dead_code))]
    pub(crate) type_id: fn() -> TypeId,
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
        type_id: TypeId::of::<R>,
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

/// The codecs known by type, for values whose type is erased where they are sent (a
/// closure's result, a constant argument, data): the common std types, and every codec
/// the program has met ([`register`]: the parameter and result types of `#[delayed]`
/// functions, data of `#[derive(Tokenize)]` serde types). The dask executor fills it in
/// the driver before it plans a compute; workers are sent the codec of each value.
#[cfg(feature = "dask")]
mod by_type {
    use std::any::TypeId;
    use std::collections::HashMap;
    use std::sync::{Arc, OnceLock, PoisonError, RwLock};

    use super::{codec_of, Codec};
    use crate::erased::AnyValue;

    /// The codecs by type, and those registered beyond the common ones (in order).
    #[derive(Default)]
    struct Table {
        by_type: HashMap<TypeId, &'static Codec>,
        registered: Vec<&'static Codec>,
    }

    fn table() -> &'static RwLock<Table> {
        static TABLE: OnceLock<RwLock<Table>> = OnceLock::new();
        TABLE.get_or_init(|| {
            let mut table = Table::default();
            for codec in common() {
                table.by_type.insert((codec.type_id)(), codec);
            }
            RwLock::new(table)
        })
    }

    /// The codecs registered beyond the common ones: what a worker must know too, for
    /// values inside others (the items of a `collect`ed `Vec`).
    pub(crate) fn registered() -> Vec<&'static Codec> {
        let table = table().read().unwrap_or_else(PoisonError::into_inner);
        table.registered.clone()
    }

    /// The codec of values of type `id`, if one is known.
    pub(crate) fn of_type(id: TypeId) -> Option<&'static Codec> {
        let table = table().read().unwrap_or_else(PoisonError::into_inner);
        table.by_type.get(&id).copied()
    }

    /// Makes `codec` known for its type.
    pub(crate) fn register(codec: &'static Codec) {
        let id = (codec.type_id)();
        if of_type(id).is_none() {
            let mut table = table().write().unwrap_or_else(PoisonError::into_inner);
            if let std::collections::hash_map::Entry::Vacant(entry) = table.by_type.entry(id) {
                entry.insert(codec);
                table.registered.push(codec);
            }
        }
    }

    /// The codec of `Vec<T>`: the one known for it, else one over the codec known for
    /// `T` (what `collect` of a user type makes), if any.
    pub(crate) fn vec_of<T: Clone + Send + Sync + 'static>() -> Option<&'static Codec> {
        of_type(TypeId::of::<Vec<T>>()).or_else(|| {
            of_type(TypeId::of::<T>())?;
            Some(&VecOf::<T>::CODEC)
        })
    }

    struct VecOf<T>(std::marker::PhantomData<T>);

    impl<T: Clone + Send + Sync + 'static> VecOf<T> {
        const CODEC: Codec = Codec {
            encode: encode_vec::<T>,
            decode: decode_vec::<T>,
            type_name: std::any::type_name::<Vec<T>>,
            type_id: TypeId::of::<Vec<T>>,
        };
    }

    fn item_codec<T: 'static>() -> Result<&'static Codec, String> {
        of_type(TypeId::of::<T>())
            .ok_or_else(|| format!("no codec for `{}`", std::any::type_name::<T>()))
    }

    /// A count, then each item as its codec writes it, length first.
    fn encode_vec<T: Clone + Send + Sync + 'static>(value: &AnyValue) -> Result<Vec<u8>, String> {
        let items = value
            .downcast_ref::<Vec<T>>()
            .ok_or("internal error: not the vector of its codec")?;
        let codec = item_codec::<T>()?;
        let mut out = (items.len() as u64).to_le_bytes().to_vec();
        for item in items {
            let bytes = (codec.encode)(&(Arc::new(item.clone()) as AnyValue))?;
            out.extend((bytes.len() as u64).to_le_bytes());
            out.extend(bytes);
        }
        Ok(out)
    }

    fn decode_vec<T: Clone + Send + Sync + 'static>(bytes: &[u8]) -> Result<AnyValue, String> {
        let codec = item_codec::<T>()?;
        let mut rest = bytes;
        let mut take = |n: usize| -> Result<&[u8], String> {
            if rest.len() < n {
                return Err("the vector's bytes end early".into());
            }
            let (head, tail) = rest.split_at(n);
            rest = tail;
            Ok(head)
        };
        let len = |bytes: &[u8]| u64::from_le_bytes(bytes.try_into().unwrap_or([0; 8])) as usize;
        let count = len(take(8)?);
        let mut items = Vec::with_capacity(count.min(1 << 20));
        for _ in 0..count {
            let n = len(take(8)?);
            let item = (codec.decode)(take(n)?)?
                .downcast::<T>()
                .map_err(|_| "internal error: an item of another type".to_owned())?;
            items.push(Arc::try_unwrap(item).unwrap_or_else(|item| (*item).clone()));
        }
        if !rest.is_empty() {
            return Err(format!("{} bytes left over after the vector", rest.len()));
        }
        Ok(Arc::new(items))
    }

    /// Pairs of every two of these types.
    macro_rules! pairs {
        ($out:ident: $($a:ty),*) => { pairs!(@each $out [$($a),*] [$($a),*]); };
        (@each $out:ident [$($a:ty),*] $b:tt) => { $( pairs!(@one $out $a $b); )* };
        (@one $out:ident $a:ty [$($b:ty),*]) => { $( $out.push(codec_of::<($a, $b)>()); )* };
    }

    /// The codecs of common std types: scalars, `String`, and `Vec`s, `Option`s and pairs
    /// of them.
    fn common() -> Vec<&'static Codec> {
        let mut out: Vec<&'static Codec> = Vec::new();
        macro_rules! each {
            ($($t:ty),*) => {$(
                out.push(codec_of::<$t>());
                out.push(codec_of::<Vec<$t>>());
                out.push(codec_of::<Option<$t>>());
                out.push(codec_of::<Vec<Vec<$t>>>());
            )*};
        }
        each!(
            bool, char, i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64,
            String
        );
        out.push(codec_of::<()>());
        pairs!(out: bool, i32, i64, u32, u64, usize, f32, f64, String);
        out
    }
}

#[cfg(feature = "dask")]
pub(crate) use by_type::{of_type, register, registered, vec_of};

/// Finds a type's codec by autoref specialisation: `(&&&Probe::<T>::new()).codec()` is
///
/// 1. the serde codec (postcard) when `T: Serialize + DeserializeOwned` ([`SerdeCodec`],
///    implemented on `&&Probe<T>`, so it matches the receiver as it is);
/// 2. else a codec this crate provides for a type it knows ([`KnownCodec`] on `&Probe<T>`,
///    reached by one dereference: `image::ImageBuffer`s of `u8` pixels with the `image`
///    feature);
/// 3. else `None` ([`NoCodec`] on `Probe<T>`, two dereferences away).
///
/// Method lookup tries the receiver types in that order and takes the first whose impl
/// applies, which it can decide only on concrete types: generated code calls it where
/// the types are known.
pub struct Probe<T>(PhantomData<fn() -> T>);

impl<T> Probe<T> {
    /// A probe for `T`.
    pub const fn new() -> Probe<T> {
        Probe(PhantomData)
    }
}

impl<T> Default for Probe<T> {
    fn default() -> Self {
        Probe::new()
    }
}

/// The serde arm of [`Probe`].
pub trait SerdeCodec {
    /// The codec of the probed type.
    fn codec(&self) -> Option<&'static Codec>;
}

#[cfg(feature = "cache")]
impl<T: Cacheable> SerdeCodec for &&Probe<T> {
    fn codec(&self) -> Option<&'static Codec> {
        Some(codec_of::<T>())
    }
}

/// Types without serde that this crate still knows how to write as bytes.
pub trait Known: Send + Sync + 'static {
    /// Their codec.
    fn known_codec() -> &'static Codec;
}

/// The arm of [`Probe`] for [`Known`] types.
pub trait KnownCodec {
    /// The codec of the probed type.
    fn codec(&self) -> Option<&'static Codec>;
}

impl<T: Known> KnownCodec for &Probe<T> {
    fn codec(&self) -> Option<&'static Codec> {
        Some(T::known_codec())
    }
}

/// The fallback arm of [`Probe`]: no codec.
pub trait NoCodec {
    /// `None`: the probed type cannot cross processes.
    fn codec(&self) -> Option<&'static Codec>;
}

impl<T> NoCodec for Probe<T> {
    fn codec(&self) -> Option<&'static Codec> {
        None
    }
}

/// `image::ImageBuffer<P, Vec<u8>>` as its width, height and raw bytes (postcard).
#[cfg(all(feature = "image", feature = "cache"))]
mod image_codec {
    use super::{Codec, Known};
    use crate::erased::AnyValue;
    use image::{ImageBuffer, Pixel};
    use std::marker::PhantomData;

    struct ImageCodec<P>(PhantomData<P>);

    impl<P: Pixel<Subpixel = u8> + Send + Sync + 'static> ImageCodec<P> {
        const CODEC: Codec = Codec {
            encode: encode::<P>,
            decode: decode::<P>,
            type_name: std::any::type_name::<ImageBuffer<P, Vec<u8>>>,
            type_id: std::any::TypeId::of::<ImageBuffer<P, Vec<u8>>>,
        };
    }

    fn encode<P: Pixel<Subpixel = u8> + Send + Sync + 'static>(
        value: &AnyValue,
    ) -> Result<Vec<u8>, String> {
        let image = value
            .downcast_ref::<ImageBuffer<P, Vec<u8>>>()
            .ok_or("internal error: not the image type")?;
        let (w, h) = image.dimensions();
        postcard::to_allocvec(&(w, h, image.as_raw().as_slice())).map_err(|e| e.to_string())
    }

    fn decode<P: Pixel<Subpixel = u8> + Send + Sync + 'static>(
        bytes: &[u8],
    ) -> Result<AnyValue, String> {
        let ((w, h, raw), rest) =
            postcard::take_from_bytes::<(u32, u32, Vec<u8>)>(bytes).map_err(|e| e.to_string())?;
        if !rest.is_empty() {
            return Err(format!("{} bytes left over after the image", rest.len()));
        }
        let image = ImageBuffer::<P, Vec<u8>>::from_raw(w, h, raw)
            .ok_or_else(|| format!("{w}x{h} does not match the pixel data"))?;
        Ok(std::sync::Arc::new(image))
    }

    impl<P: Pixel<Subpixel = u8> + Send + Sync + 'static> Known for ImageBuffer<P, Vec<u8>> {
        fn known_codec() -> &'static Codec {
            &ImageCodec::<P>::CODEC
        }
    }
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

    #[test]
    #[allow(clippy::needless_borrow)] // the borrows choose the arm
    fn probes_pick_serde_then_known_then_none() {
        #[allow(unused_imports)]
        use super::{KnownCodec as _, NoCodec as _, SerdeCodec as _};
        struct Opaque;
        let serde = (&&&Probe::<Vec<i64>>::new()).codec();
        assert_eq!(serde.map(|c| (c.type_name)()), Some("alloc::vec::Vec<i64>"));
        assert!((&&&Probe::<Opaque>::new()).codec().is_none());
        #[cfg(feature = "image")]
        {
            let codec = (&&&Probe::<image::RgbImage>::new()).codec().unwrap();
            let image = image::RgbImage::from_fn(3, 2, |x, y| image::Rgb([x as u8, y as u8, 7]));
            let bytes = (codec.encode)(&(std::sync::Arc::new(image.clone()) as AnyValue)).unwrap();
            let back = (codec.decode)(&bytes).unwrap();
            assert_eq!(back.downcast_ref::<image::RgbImage>(), Some(&image));
            assert!((codec.decode)(&bytes[..bytes.len() - 1]).is_err());
        }
    }
}
