// libpng reports errors by longjmp; this shim keeps setjmp on the C side and returns a status.
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

/// A growing memory buffer the encoder writes into; the caller frees `bytes`.
typedef struct {
    unsigned char *bytes;
    size_t count;
    size_t capacity;
} shelftag_png_buffer;

typedef struct {
    char message[256];
} shelftag_png_error_text;

static inline void shelftag_png_on_error(png_structp png, png_const_charp message) {
    shelftag_png_error_text *error = (shelftag_png_error_text *)png_get_error_ptr(png);
    strncpy(error->message, message, sizeof error->message - 1);
    error->message[sizeof error->message - 1] = 0;
    png_longjmp(png, 1);
}

static inline void shelftag_png_on_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

static inline void shelftag_png_on_write(png_structp png, png_bytep data, size_t length) {
    shelftag_png_buffer *buffer = (shelftag_png_buffer *)png_get_io_ptr(png);
    if (buffer->count + length > buffer->capacity) {
        size_t capacity = buffer->capacity ? buffer->capacity : 16384;
        while (capacity < buffer->count + length) capacity *= 2;
        unsigned char *grown = (unsigned char *)realloc(buffer->bytes, capacity);
        if (!grown) png_error(png, "out of memory");
        buffer->bytes = grown;
        buffer->capacity = capacity;
    }
    memcpy(buffer->bytes + buffer->count, data, length);
    buffer->count += length;
}

static inline void shelftag_png_on_flush(png_structp png) { (void)png; }

/// Writes a greyscale PNG (bit depth 8, or 1) with a pHYs chunk around image data the caller compressed
/// (see PNGImageData.swift). Returns 0 on success; otherwise fills `error` and returns 1.
static inline int shelftag_png_write(const unsigned char *image_data, size_t image_data_size, png_uint_32 width, png_uint_32 height,
                                     int bit_depth, png_uint_32 pixels_per_metre, shelftag_png_buffer *out,
                                     shelftag_png_error_text *error) {
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, error, shelftag_png_on_error, shelftag_png_on_warning);
    if (!png) {
        strcpy(error->message, "libpng could not start");
        return 1;
    }
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        strcpy(error->message, "libpng could not start");
        return 1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return 1;
    }
    png_set_write_fn(png, out, shelftag_png_on_write, shelftag_png_on_flush);
    png_set_IHDR(png, info, width, height, bit_depth, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_pHYs(png, info, pixels_per_metre, pixels_per_metre, PNG_RESOLUTION_METER);
    png_write_info(png, info);
    // png_write_end insists on rows it compressed itself; with the data already compressed, the last two
    // chunks go through libpng's generic chunk writer (length, type, data, CRC).
    png_write_chunk(png, (png_const_bytep) "IDAT", image_data, image_data_size);
    png_write_chunk(png, (png_const_bytep) "IEND", NULL, 0);
    png_destroy_write_struct(&png, &info);
    return 0;
}
