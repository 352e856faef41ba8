# SPDX-License-Identifier: Apache-2.0 OR BSD-3-Clause
#
# plot.gp - W1 translate: ns/op versus region count R.
#
# Driven by bench/plot.sh, which extracts the data; by hand:
#   gnuplot -e "data='w1.dat'; out='BENCHMARKS-w1.png'; subtitle='...'" bench/plot.gp
#
# data: whitespace-separated columns, one row per R, "-" for a missing value:
#   R  libgmem  vm-memory  C-floor(bsearch)  DPDK-vhost  C-floor(1-region)

if (!exists("data")) data = 'w1.dat'
if (!exists("out")) out = 'BENCHMARKS-w1.png'
if (!exists("subtitle")) subtitle = ''

set terminal pngcairo size 1000,640 enhanced font 'DejaVu Sans,11' linewidth 1.5
set output out
set datafile missing '-'

set title "W1 translate (guest address -> host pointer, 8-byte bounds check)\n{/*0.8 ".subtitle."}"
set xlabel 'regions in the map (R, log scale)'
set ylabel 'ns per translation (log scale; lower is better)'
set logscale x 2
set logscale y 10
set xrange [0.7:1500]
set yrange [0.2:600]
set xtics ('1' 1, '8' 8, '64' 64, '1024' 1024)
set format y '%g'
set grid xtics ytics mytics lc rgb '#dddddd'
set key top left box opaque
set border 3
set style textbox opaque noborder margins 1,1
set ytics add ('0.5' 0.5, '2' 2, '5' 5, '20' 20, '50' 50, '200' 200)
set tics nomirror

plot \
  data using 1:2 with linespoints lw 2.5 pt 7 ps 1.4 lc rgb '#d62728' title 'libgmem (gmem\_translate\_exact)', \
  data using 1:3 with linespoints lw 2 pt 5 ps 1.2 lc rgb '#1f77b4' title 'rust-vmm vm-memory 0.10 (get\_host\_address)', \
  data using 1:4 with linespoints lw 2 pt 9 ps 1.4 lc rgb '#2ca02c' title 'C floor (branchless bsearch)', \
  data using 1:($4 * 1.1) with lines lw 1.5 dt 2 lc rgb '#2ca02c' title 'target: 1.1 x C floor', \
  data using 1:5 with linespoints lw 2 pt 13 ps 1.3 lc rgb '#9467bd' title 'DPDK vhost (rte\_vhost\_va\_from\_guest\_pa)', \
  data using 1:6 with points pt 6 ps 1.6 lc rgb '#2ca02c' title 'C floor, 1 region (base + offset)', \
  data using 1:2:(sprintf('%.1f', $2)) with labels boxed offset -2.6,0.9 tc rgb '#d62728' font ',10' notitle
