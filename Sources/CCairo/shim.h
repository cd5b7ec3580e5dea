#include <cairo.h>
#include <cairo-pdf.h>
#include <cairo-ft.h>
#include <fontconfig/fontconfig.h>

// A cairo face for the font file at `path` (its first face): cairo opens the file itself, so no FreeType face is
// shared with the typesetter's. NULL when fontconfig cannot make a pattern.
static inline cairo_font_face_t *shelftag_cairo_font_face(const char *path) {
    FcPattern *pattern = FcPatternCreate();
    if (pattern == NULL) return NULL;
    FcPatternAddString(pattern, FC_FILE, (const FcChar8 *)path);
    FcPatternAddInteger(pattern, FC_INDEX, 0);
    cairo_font_face_t *face = cairo_ft_font_face_create_for_pattern(pattern);
    FcPatternDestroy(pattern);
    return face;
}
