#include <ft2build.h>
#include FT_FREETYPE_H

// Macro-only parts of the API, as functions Swift can call.
static inline FT_Int32 shelftag_ft_load_render(void) { return FT_LOAD_RENDER | FT_LOAD_TARGET_NORMAL; }
static inline FT_Int32 shelftag_ft_load_metrics(void) { return FT_LOAD_DEFAULT; }
static inline int shelftag_ft_has_kerning(FT_Face face) { return FT_HAS_KERNING(face) ? 1 : 0; }
