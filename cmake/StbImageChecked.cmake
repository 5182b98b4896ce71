# stb_image_checked.h: Debian's stb_image.h (2.27) with the bounds checks
# that stb_image 2.28 added for corrupt JPEGs, found again by fuzzing here,
# and undefined-behaviour fixes
# (docs/reliability.md#bad-input). media/image_stats.cc compiles it as its
# own private (static) copy, so no libstb elsewhere in the process can
# interpose unchecked code.
#
# Each patch inserts text after an anchor; configuring fails when an anchor
# is gone and the header does not already carry the check.
function(ml_exporter_stb_patch text_var anchor insert already)
  set(text "${${text_var}}")
  string(FIND "${text}" "${already}" fixed)
  string(FIND "${text}" "${anchor}" at)
  if(at GREATER_EQUAL 0)
    string(REPLACE "${anchor}" "${anchor}${insert}" text "${text}")
  elseif(fixed LESS 0)
    message(FATAL_ERROR "stb_image.h: cannot add a bounds check after:\n${anchor}")
  endif()
  set(${text_var} "${text}" PARENT_SCOPE)
endfunction()

function(ml_exporter_stb_image_checked header out)
  file(READ "${header}" text)
  # A JPEG Huffman table of more than 256 codes: stbi__build_huffman and the
  # value loop write past size[257] and values[256].
  ml_exporter_stb_patch(text
    "               n += sizes[i];\n            }\n"
    "            if (n > 256) return stbi__err(\"bad DHT header\",\"Corrupt JPEG\"); /* ml_exporter: as 2.28 */\n"
    "if(n > 256)")
  # A code whose symbol index falls outside the table: values[] and size[]
  # read before their start (index -6 in the input that found it).
  ml_exporter_stb_patch(text
    "   c = ((j->code_buffer >> (32 - k)) & stbi__bmask[k]) + h->delta[k];\n"
    "   if (c < 0 || c >= 256) return -1; /* ml_exporter: as 2.28 */\n"
    "if(c < 0 || c >= 256)")
  # Zero bytes copied from a null pointer (a PNG whose first IDAT chunk is
  # empty): harmless, but undefined, and UBSan stops there.
  ml_exporter_stb_patch(text
    "static int stbi__getn(stbi__context *s, stbi_uc *buffer, int n)\n{\n"
    "   if (n == 0) return 1; /* ml_exporter: no memcpy from null */\n"
    "no memcpy from null")
  # A scan that uses a Huffman table no DHT segment defined: the table is
  # uninitialized heap, and the slow-path search in stbi__jpeg_huff_decode
  # runs past maxcode[17] (UBSan, found by fuzzing in CI). Tables start out
  # empty, as stbi__build_huffman would leave a table of no codes, so every
  # code read with one is an error.
  set(empty_tables "memset(j, 0, sizeof(stbi__jpeg)); { int t; for (t = 0; t < 4; ++t) { memset(j->huff_dc[t].fast, 255, sizeof(j->huff_dc[t].fast)); memset(j->huff_ac[t].fast, 255, sizeof(j->huff_ac[t].fast)); } } /* ml_exporter: undefined tables empty */")
  ml_exporter_stb_patch(text
    "   if (!j) return stbi__errpuc(\"outofmem\", \"Out of memory\");\n"
    "   ${empty_tables}\n"
    "undefined tables empty")
  ml_exporter_stb_patch(text
    "   if (!j) return stbi__err(\"outofmem\", \"Out of memory\");\n"
    "   ${empty_tables}\n"
    "undefined tables empty")
  ml_exporter_stb_patch(text
    "   temp = j->code_buffer >> 16;\n"
    "   if (temp >= h->maxcode[17]) { j->code_bits -= 16; return -1; } /* ml_exporter: search ends at maxcode[17] */\n"
    "search ends at maxcode[17]")
  file(CONFIGURE OUTPUT "${out}" CONTENT "${text}" @ONLY)
endfunction()
