//! Crate-internal macros that stamp out the repetitive parts of the ABI:
//! closed enums over raw command numbers, the `Pod` marker, all-zero
//! `Default`s for structs with long arrays, and opaque `Debug` for unions.

/// Declares a closed enum over raw Xen numbers.
///
/// The generated type has `ALL`, `raw()`, `from_raw()`, `From<Enum> for
/// repr`, `TryFrom<repr>` and, for reprs narrower than 64 bits,
/// `TryFrom<u64>`. Unknown numbers become an [`crate::UnknownValue`].
macro_rules! xen_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident : $repr:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:expr, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr($repr)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant = $value, )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The raw number Xen uses for this value.
            pub const fn raw(self) -> $repr {
                self as $repr
            }

            /// Parses a raw number; `None` when Xen defines no such value.
            pub const fn from_raw(value: $repr) -> Option<Self> {
                $( if value == $value { return Some($name::$variant); } )+
                None
            }
        }

        impl From<$name> for $repr {
            fn from(value: $name) -> $repr {
                value as $repr
            }
        }

        impl TryFrom<$repr> for $name {
            type Error = $crate::pod::UnknownValue;

            fn try_from(value: $repr) -> Result<Self, $crate::pod::UnknownValue> {
                Self::from_raw(value).ok_or($crate::pod::UnknownValue {
                    type_name: stringify!($name),
                    value: value as i64 as u64,
                })
            }
        }

        xen_enum!(@wide $name $repr);
    };

    (@wide $name:ident u64) => {};
    (@wide $name:ident i16) => {};
    (@wide $name:ident i32) => {};
    (@wide $name:ident $repr:ident) => {
        impl TryFrom<u64> for $name {
            type Error = $crate::pod::UnknownValue;

            fn try_from(value: u64) -> Result<Self, $crate::pod::UnknownValue> {
                let unknown = $crate::pod::UnknownValue {
                    type_name: stringify!($name),
                    value,
                };
                let narrow = <$repr>::try_from(value).map_err(|_| unknown)?;
                Self::from_raw(narrow).ok_or(unknown)
            }
        }
    };
}

/// Marks plain-old-data ABI types as [`crate::Pod`].
macro_rules! impl_pod {
    ($($ty:ty),+ $(,)?) => {
        $(
            // SAFETY: the type is `#[repr(C)]` (or transparent) and made only
            // of integers, integer arrays and other `Pod` types, so every bit
            // pattern, including all zeroes, is a valid value.
            unsafe impl $crate::pod::Pod for $ty {}
        )+
    };
}

/// Implements `Default` as all-zero for `Pod` types whose arrays are too
/// long for `#[derive(Default)]`, and marks them `Pod`.
macro_rules! pod_zeroed_default {
    ($($ty:ty),+ $(,)?) => {
        $(
            impl_pod!($ty);
            impl Default for $ty {
                fn default() -> Self {
                    <$ty as $crate::pod::Pod>::zeroed()
                }
            }
        )+
    };
}

/// For unions: an all-zero `Default`, an opaque `Debug` (which member is
/// live is not known here), and the `Pod` marker.
macro_rules! pod_union {
    ($($ty:ty),+ $(,)?) => {
        $(
            pod_zeroed_default!($ty);
            impl core::fmt::Debug for $ty {
                fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                    f.debug_struct(stringify!($ty)).finish_non_exhaustive()
                }
            }
        )+
    };
}
