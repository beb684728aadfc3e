# Concatenate the BPF inputs into one C string constant <NAME>_bpf_text.
# Local includes ("...") are dropped: their content is placed ahead of the
# .bpf.c file, and libbcc compiles the text without the source tree.
string(REPLACE "|" ";" INPUTS "${INPUTS}")
set(text "")
foreach(f ${INPUTS})
  file(READ ${f} content)
  string(REGEX REPLACE "\n#include \"[^\"]*\"" "\n/* (embedded above) */" content "\n${content}")
  string(APPEND text "/* ---- ${f} ---- */${content}\n")
endforeach()
# Hex bytes avoid every quoting problem of C string literals.
file(WRITE ${OUT}.txt "${text}")
file(READ ${OUT}.txt hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" hex "${hex}")
file(WRITE ${OUT} "/* Generated from bpf_src by cmake/embed_bpf.cmake; do not edit. */\nconst char ${NAME}_bpf_text[] = {\n${hex}0x00};\n")
file(REMOVE ${OUT}.txt)
