# Draws the study's plots: gnuplot plots.gp (in this directory)
reset
set terminal pngcairo enhanced size 1500,900 font 'Sans,10'
set output 'hist_peak_bits.png'
set grid
set key top right
set multiplot layout 2,3 title 'Bits needed by each output''s peak partial sum (32-bit run), test and train side by side'
set style fill solid 0.6 noborder
set xlabel 'bits needed (width at which the output never saturates)'
set ylabel 'fraction of outputs'
set xrange [5.3:19.7]
set xtics 1
set yrange [0:*]
set offsets 0,0,graph 0.12,0
set title 'conv1'
plot 'hist_bits_test.dat' using ($1-0.2):($3>0?$3/47040000:1/0):(0.4) with boxes title 'test', 'hist_bits_train.dat' using ($1+0.2):($3>0?$3/235200000:1/0):(0.4) with boxes title 'train'
set title 'conv2'
plot 'hist_bits_test.dat' using ($1-0.2):($6>0?$6/16000000:1/0):(0.4) with boxes title 'test', 'hist_bits_train.dat' using ($1+0.2):($6>0?$6/80000000:1/0):(0.4) with boxes title 'train'
set title 'fc1'
plot 'hist_bits_test.dat' using ($1-0.2):($9>0?$9/1200000:1/0):(0.4) with boxes title 'test', 'hist_bits_train.dat' using ($1+0.2):($9>0?$9/6000000:1/0):(0.4) with boxes title 'train'
set title 'fc2'
plot 'hist_bits_test.dat' using ($1-0.2):($12>0?$12/840000:1/0):(0.4) with boxes title 'test', 'hist_bits_train.dat' using ($1+0.2):($12>0?$12/4200000:1/0):(0.4) with boxes title 'train'
set title 'fc3'
plot 'hist_bits_test.dat' using ($1-0.2):($15>0?$15/100000:1/0):(0.4) with boxes title 'test', 'hist_bits_train.dat' using ($1+0.2):($15>0?$15/500000:1/0):(0.4) with boxes title 'train'
set title 'all layers together'
plot 'hist_bits_test.dat' using ($1-0.2):($18>0?$18/65180000:1/0):(0.4) with boxes title 'test', 'hist_bits_train.dat' using ($1+0.2):($18>0?$18/325900000:1/0):(0.4) with boxes title 'train'
unset multiplot
reset
set terminal pngcairo enhanced size 1500,900 font 'Sans,10'
set output 'hist_outputs.png'
set grid
set key top right
set multiplot layout 2,3 title 'Layer outputs (final accumulator, before ReLU) at 32 bits, test and train overlaid'
set style fill transparent solid 0.35 noborder
set xlabel 'layer output value'
set ylabel 'fraction of values'
set yrange [0:*]
set offsets 0,0,graph 0.08,0
set title 'conv1'
set xrange [-141992:138052]
set xtics 50000
plot 'hist_out_conv1_test.dat' using 1:($3>0?$3:1/0):(2048) with boxes title 'test', 'hist_out_conv1_train.dat' using 1:($3>0?$3:1/0):(2048) with boxes title 'train'
set title 'conv2'
set xrange [-74935:64001]
set xtics 20000
plot 'hist_out_conv2_test.dat' using 1:($3>0?$3:1/0):(512) with boxes title 'test', 'hist_out_conv2_train.dat' using 1:($3>0?$3:1/0):(512) with boxes title 'train'
set title 'fc1'
set xrange [-53016:40874]
set xtics 20000
plot 'hist_out_fc1_test.dat' using 1:($3>0?$3:1/0):(512) with boxes title 'test', 'hist_out_fc1_train.dat' using 1:($3>0?$3:1/0):(512) with boxes title 'train'
set title 'fc2'
set xrange [-31175:26897]
set xtics 10000
plot 'hist_out_fc2_test.dat' using 1:($3>0?$3:1/0):(256) with boxes title 'test', 'hist_out_fc2_train.dat' using 1:($3>0?$3:1/0):(256) with boxes title 'train'
set title 'fc3'
set xrange [-53483:72971]
set xtics 20000
plot 'hist_out_fc3_test.dat' using 1:($3>0?$3:1/0):(512) with boxes title 'test', 'hist_out_fc3_train.dat' using 1:($3>0?$3:1/0):(512) with boxes title 'train'
unset multiplot
reset
set terminal pngcairo enhanced size 1500,900 font 'Sans,10'
set output 'hist_outputs_log.png'
set grid
set key top right
set multiplot layout 2,3 title 'Layer outputs (final accumulator, before ReLU) at 32 bits, test and train overlaid (log count axis)'
set style fill transparent solid 0.35 noborder
set xlabel 'layer output value'
set ylabel 'fraction of values (log)'
set logscale y
set format y '10^{%L}'
set title 'conv1'
set xrange [-141992:138052]
set xtics 50000
plot 'hist_out_conv1_test.dat' using 1:($3>0?$3:1/0):(2048) with boxes title 'test', 'hist_out_conv1_train.dat' using 1:($3>0?$3:1/0):(2048) with boxes title 'train'
set title 'conv2'
set xrange [-74935:64001]
set xtics 20000
plot 'hist_out_conv2_test.dat' using 1:($3>0?$3:1/0):(512) with boxes title 'test', 'hist_out_conv2_train.dat' using 1:($3>0?$3:1/0):(512) with boxes title 'train'
set title 'fc1'
set xrange [-53016:40874]
set xtics 20000
plot 'hist_out_fc1_test.dat' using 1:($3>0?$3:1/0):(512) with boxes title 'test', 'hist_out_fc1_train.dat' using 1:($3>0?$3:1/0):(512) with boxes title 'train'
set title 'fc2'
set xrange [-31175:26897]
set xtics 10000
plot 'hist_out_fc2_test.dat' using 1:($3>0?$3:1/0):(256) with boxes title 'test', 'hist_out_fc2_train.dat' using 1:($3>0?$3:1/0):(256) with boxes title 'train'
set title 'fc3'
set xrange [-53483:72971]
set xtics 20000
plot 'hist_out_fc3_test.dat' using 1:($3>0?$3:1/0):(512) with boxes title 'test', 'hist_out_fc3_train.dat' using 1:($3>0?$3:1/0):(512) with boxes title 'train'
unset multiplot
reset
set terminal pngcairo enhanced size 1500,900 font 'Sans,10'
set output 'hist_peaks_log.png'
set grid
set key top right
set multiplot layout 2,3 title 'Peak |partial sum| per output at 32 bits, test and train overlaid (log count axis)'
set style fill transparent solid 0.35 noborder
set xlabel 'largest magnitude held by the output''s accumulators'
set ylabel 'fraction of values (log)'
set logscale y
set format y '10^{%L}'
set title 'conv1'
set xrange [0:138168]
set xtics 20000
plot 'hist_peak_conv1_test.dat' using 1:($3>0?$3:1/0):(1024) with boxes title 'test', 'hist_peak_conv1_train.dat' using 1:($3>0?$3:1/0):(1024) with boxes title 'train'
set title 'conv2'
set xrange [0:73830]
set xtics 20000
plot 'hist_peak_conv2_test.dat' using 1:($3>0?$3:1/0):(512) with boxes title 'test', 'hist_peak_conv2_train.dat' using 1:($3>0?$3:1/0):(512) with boxes title 'train'
set title 'fc1'
set xrange [0:52209]
set xtics 10000
plot 'hist_peak_fc1_test.dat' using 1:($3>0?$3:1/0):(256) with boxes title 'test', 'hist_peak_fc1_train.dat' using 1:($3>0?$3:1/0):(256) with boxes title 'train'
set title 'fc2'
set xrange [0:30455]
set xtics 5000
plot 'hist_peak_fc2_test.dat' using 1:($3>0?$3:1/0):(128) with boxes title 'test', 'hist_peak_fc2_train.dat' using 1:($3>0?$3:1/0):(128) with boxes title 'train'
set title 'fc3'
set xrange [0:75412]
set xtics 20000
plot 'hist_peak_fc3_test.dat' using 1:($3>0?$3:1/0):(512) with boxes title 'test', 'hist_peak_fc3_train.dat' using 1:($3>0?$3:1/0):(512) with boxes title 'train'
unset multiplot
reset
set terminal pngcairo enhanced size 1000,750 font 'Sans,10'
set output 'sweep.png'
set grid
set key top right
set multiplot layout 2,1 title 'Approach A: accuracy and energy against one common accumulator width' margins 0.09,0.97,0.08,0.93 spacing 0,0.06
set xrange [11.5:32.5]
set xtics 1
set ylabel 'accuracy (%)'
set key bottom right
plot 'sweep.dat' using 1:3 with linespoints lw 2 pt 7 ps 0.8 title 'test accuracy', 'sweep.dat' using 1:4 with linespoints lw 2 pt 7 ps 0.8 title 'train accuracy'
set xlabel 'accumulator width B (bits, all layers)'
set ylabel 'energy (SPEC 8 units, millions)'
set yrange [0:*]
plot 'sweep.dat' using 1:($2/1e6) with linespoints lw 2 pt 5 ps 0.8 lc 3 notitle
unset multiplot
reset
set terminal pngcairo enhanced size 1000,650 font 'Sans,10'
set output 'pareto.png'
set grid
set key top right
set title "Energy-accuracy Pareto front (test, per-layer widths in the search box)\nbaseline 70.85 %"
set xlabel 'energy (SPEC 8 units, millions; log scale)'
set ylabel 'test accuracy (%)'
set key bottom right
set logscale x
set xrange [139.2:895.7]
set offsets 0,0,1,1
set xtics (100, 125, 150, 175, 200, 250, 300, 400, 500, 600, 700, 800, 1000)
plot 'pareto.dat' index 0 using ($1/1e6):2 with steps lw 2 title 'Pareto front (staircase)', '' index 0 using ($1/1e6):2 with points pt 7 ps 0.8 notitle, '' index 1 using ($1/1e6):2 with points pt 5 ps 1.6 title 'chosen settings', '' index 1 using ($1/1e6):2:3 with labels offset 1.5,-0.8 left notitle, 70.8500 with lines dt 3 lw 1.5 lc rgb 'gray40' title 'baseline accuracy'
